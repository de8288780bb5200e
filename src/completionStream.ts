/**
 * One streamed completion request as the provider reads it: the latest text
 * of each candidate (the final reply's, which drops candidates that break
 * the cell, once it comes), and each candidate's new texts as they arrive.
 */
import { ICompleteReply, ISSEvent, StreamOutcome } from './api';

/**
 * The latest text of each candidate of one streamed completion request.
 */
export class CompletionStream {
  readonly texts: string[];
  done = false;
  error: string | null = null;
  private _wake: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly candidates: number
  ) {
    this.texts = new Array(candidates).fill('');
  }

  /** An event of the `/complete` stream. */
  receive(event: ISSEvent): void {
    if (event.event === 'completion') {
      const { index, text } = event.data as { index: number; text: string };
      if (index >= 0 && index < this.candidates) {
        this.texts[index] = text;
      }
    } else if (event.event === 'done') {
      // The final reply drops candidates that break the cell.
      const reply = event.data as ICompleteReply;
      for (let i = 0; i < this.candidates; i++) {
        const final = reply.completions.find(c => c.candidate === i);
        this.texts[i] = final ? final.text : '';
      }
    }
    this._notify();
  }

  /** The stream ended: the texts are final, or `error` says why not. */
  finish(outcome: StreamOutcome): void {
    if (outcome.state === 'error') {
      this.error = outcome.message;
      console.warn(`jupyter-codegen: completion failed: ${this.error}`);
    }
    this.done = true;
    this._notify();
  }

  /** Each new text of candidate `index`, until the stream ends. */
  async *updates(index: number): AsyncGenerator<string> {
    let last: string | undefined;
    for (;;) {
      const current = this.texts[index] ?? '';
      if (current !== last) {
        last = current;
        yield current;
      }
      if (this.done) {
        return;
      }
      await new Promise<void>(resolve => this._wake.push(resolve));
    }
  }

  private _notify(): void {
    const waiting = this._wake;
    this._wake = [];
    waiting.forEach(resolve => resolve());
  }
}
