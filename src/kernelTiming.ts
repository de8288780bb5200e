/**
 * When a prefetch may read the live namespace (pure): the kernel's state
 * decides whether the prompt read now is the one the first keystroke sends.
 */

/** Kernel states in which a new (or fresh) kernel is on its way. */
const KERNEL_STARTING = new Set([
  'unknown',
  'starting',
  'restarting',
  'autorestarting'
]);

/**
 * When to prefetch, given the kernel (the live namespace is part of the
 * prompt, and a keystroke sends '' for it unless the kernel is idle):
 * - `now`: it is at rest (idle, dead, or there is none): what it describes
 *   now is what the first keystroke will send.
 * - `when-idle`: it runs a cell, which is about to change the namespace:
 *   wait for the end of the run.
 * - `now-and-when-idle`: the session or its kernel is starting (a notebook
 *   just opened, a restart). A new kernel holds none of the notebook's
 *   names, so its namespace will be '', as a keystroke's is meanwhile:
 *   prefetch now, and look again once it is idle, in case the session
 *   joined a kernel that was already running (whose variables then change
 *   the prompt).
 */
export type KernelTiming = 'now' | 'when-idle' | 'now-and-when-idle';

export function kernelTiming(kernel: {
  sessionReady: boolean;
  status: string | null;
}): KernelTiming {
  if (
    !kernel.sessionReady ||
    (kernel.status !== null && KERNEL_STARTING.has(kernel.status))
  ) {
    return 'now-and-when-idle';
  }
  return kernel.status === 'busy' ? 'when-idle' : 'now';
}

/** `kernelTiming` of a session context as it stands (its kernel, if any). */
export function sessionTiming(session: {
  isReady: boolean;
  session: { kernel: { status: string } | null } | null;
}): KernelTiming {
  const kernel = session.session?.kernel ?? null;
  return kernelTiming({
    sessionReady: session.isReady,
    status: kernel ? kernel.status : null
  });
}
