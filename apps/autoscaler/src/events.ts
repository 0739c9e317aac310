/**
 * What the autoscaler decided, for observers (the demo's narration, the lag benchmark, tests).
 * Logs and metrics carry the same facts; this is the typed in-process form.
 */
export type AutoscalerEvent =
  | {
      readonly type: 'seen';
      readonly at: number;
      readonly handle: string;
      readonly name: string;
      readonly scope: string;
    }
  | {
      readonly type: 'dispatched';
      readonly at: number;
      readonly handle: string;
      readonly name: string;
      readonly scope: string;
      readonly result: 'created' | 'existing';
      readonly dispatchId: string;
      readonly route: string | undefined;
    }
  | {
      readonly type: 'skipped';
      readonly at: number;
      readonly handle: string;
      readonly name: string;
      readonly scope: string;
      readonly reason: 'no_labels' | 'no_route' | 'conflict' | 'rejected' | 'dispatch_failed';
      readonly detail: string;
    };
