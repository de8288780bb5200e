import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { fetchStatus } from './api';

/**
 * Foundation plugin: checks that the server extension answers and logs the
 * state of the hosted model. The completion provider, the Explain panel and
 * the status item are separate plugins.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codegen:plugin',
  description: 'A local code model beside the notebook.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    fetchStatus()
      .then(status => {
        console.log(
          `jupyter-codegen: model ${status.model} is ${status.state}` +
            (status.error ? `: ${status.error}` : '')
        );
      })
      .catch(reason => {
        console.error(
          'jupyter-codegen: the server extension did not answer.',
          reason
        );
      });
  }
};

export default plugin;
