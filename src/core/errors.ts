// The one error the numeric core throws for a configuration it cannot run. `path` names the
// offending config field (e.g. "layers.2.units") so the service can answer 400 with that path.

export class CoreError extends Error {
  constructor(
    public readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'CoreError';
  }
}
