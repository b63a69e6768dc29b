/** What went wrong in the trainer. */
export type TrainerErrorCode =
  /** A config, option or input is invalid; the message names it. */
  | 'config_invalid'
  /** The dataset is empty or too short for one training block. */
  | 'dataset_invalid'
  /** A checkpoint or adapter file is malformed or does not match the run. */
  | 'checkpoint_invalid'
  /** A base model folder cannot be read. */
  | 'model_invalid';

/** A trainer failure with a stable code. */
export class TrainerError extends Error {
  constructor(
    readonly code: TrainerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TrainerError';
  }
}
