import { WharfError } from "../errors/index.js";

// WharfError and the code constants live on the bottom floor (src/errors) so that sync, pool and services share
// one base; wharf/wire keeps exporting them as before.
export {
  ERROR_CODES,
  ErrorCode,
  WharfError,
  describeErrorCode,
  quote,
  type ErrorCodeInfo,
  type ErrorLayer,
  type WireErrorBody,
} from "../errors/index.js";

/**
 * A frame that breaks the protocol. The decoder raises it; a server answers it with an error frame and closes
 * the connection. `id` is the request id when the header could be read far enough to know it.
 */
export class ProtocolError extends WharfError {
  readonly id: number | null;

  constructor(code: string, message: string, id: number | null = null) {
    super(code, message);
    this.name = "ProtocolError";
    this.id = id;
  }
}
