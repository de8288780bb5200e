/**
 * jupyter-codegen's JupyterLab plugins: one file each.
 */
import { completionPlugin } from './completion';
import { explainPlugin } from './explain';
import { generatePlugin } from './generate';
import { prefetchPlugin } from './prefetch';
import { statusPlugin } from './status';

export default [
  completionPlugin,
  explainPlugin,
  generatePlugin,
  prefetchPlugin,
  statusPlugin
];
