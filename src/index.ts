/**
 * jupyter-codegen's JupyterLab plugins: one file each.
 */
import { completionPlugin } from './completion';
import { editPlugin } from './edit';
import { explainPlugin } from './explain';
import { fixPlugin } from './fix';
import { generatePlugin } from './generate';
import { prefetchPlugin } from './prefetch';
import { statusPlugin } from './status';

export default [
  completionPlugin,
  explainPlugin,
  generatePlugin,
  prefetchPlugin,
  fixPlugin,
  editPlugin,
  statusPlugin
];
