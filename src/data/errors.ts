// The one error the dataset parsers throw: what is wrong and where (a row/column or header path),
// so the API can answer 400 (or 413 for a limit) naming the problem.

export type DataErrorCode = 'invalid_dataset' | 'dataset_too_large';

export class DataError extends Error {
  override readonly name = 'DataError';

  constructor(
    /** Where the problem is, dotted like a field path: "line.7.petal_width", "rows.3.label", "images.header". */
    public readonly path: string,
    message: string,
    public readonly code: DataErrorCode = 'invalid_dataset',
  ) {
    super(message);
  }
}
