/**
 * Live kernel context (Contract C). This placeholder of branch `gen` only
 * keeps the signature so that the generate command compiles; the `ui`
 * helper's module replaces it at merge.
 */
import type { ISessionContext } from '@jupyterlab/apputils';

/**
 * A short description of the kernel's live variables that `source` uses, or
 * '' when there is none to give (see Contract A).
 */
export async function liveNamespace(
  session: ISessionContext | null | undefined,
  source: string,
  enabled: boolean
): Promise<string> {
  void session;
  void source;
  void enabled;
  return '';
}
