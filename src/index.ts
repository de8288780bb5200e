/**
 * jupyter-codegen's JupyterLab plugins: one file each.
 */
import { completionPlugin } from './completion';
import { explainPlugin } from './explain';
import { statusPlugin } from './status';

export default [completionPlugin, explainPlugin, statusPlugin];
