/**
 * Stable failure codes of the Ensemble core (docs/ensemble.md "Errors"). Peer input never throws:
 * it moves a connection, or the whole session, to a failed state carrying one of these codes.
 * @module
 */

/**
 * Why one connection stopped carrying the session. The session itself goes on over other
 * connections.
 * - `DUST_ERR_ENSEMBLE_MALFORMED`: bytes that are not an Ensemble message (unknown code, empty Data,
 *   position of 2^53 or more).
 * - `DUST_ERR_ENSEMBLE_UNEXPECTED`: a well-formed message that is not allowed at this point.
 * - `DUST_ERR_ENSEMBLE_BAD_SEQUENCE`: a Data sequence number, or a session id, other than expected.
 * - `DUST_ERR_ENSEMBLE_WINDOW`: data or a position beyond the receive window.
 * - `DUST_ERR_ENSEMBLE_BAD_ACK`: an acknowledgement of bytes that were never sent.
 * - `DUST_ERR_ENSEMBLE_BAD_CLOSE`: a Close (or Close OK) that contradicts the stream.
 * - `DUST_ERR_ENSEMBLE_HANDSHAKE_TIMEOUT`: New/Continue got no answer in time.
 * - `DUST_ERR_ENSEMBLE_PEER_ERROR`: the peer sent an error code that ends this connection.
 * - `DUST_ERR_ENSEMBLE_UNKNOWN_SESSION`, `DUST_ERR_ENSEMBLE_TOO_MANY_SESSIONS`,
 *   `DUST_ERR_ENSEMBLE_SESSION_CLOSED`: (server) the connection asked for a session it cannot have.
 */
export type LinkFailure =
  | 'DUST_ERR_ENSEMBLE_MALFORMED'
  | 'DUST_ERR_ENSEMBLE_UNEXPECTED'
  | 'DUST_ERR_ENSEMBLE_BAD_SEQUENCE'
  | 'DUST_ERR_ENSEMBLE_WINDOW'
  | 'DUST_ERR_ENSEMBLE_BAD_ACK'
  | 'DUST_ERR_ENSEMBLE_BAD_CLOSE'
  | 'DUST_ERR_ENSEMBLE_HANDSHAKE_TIMEOUT'
  | 'DUST_ERR_ENSEMBLE_PEER_ERROR'
  | 'DUST_ERR_ENSEMBLE_UNKNOWN_SESSION'
  | 'DUST_ERR_ENSEMBLE_TOO_MANY_SESSIONS'
  | 'DUST_ERR_ENSEMBLE_SESSION_CLOSED';

/**
 * Why a client's logical session ended without a clean close.
 * - `DUST_ERR_ENSEMBLE_TOO_MANY_SESSIONS`: the server's table is full (0xF0 on New).
 * - `DUST_ERR_ENSEMBLE_UNKNOWN_SESSION`: the server no longer knows the session (0xF1 on Continue),
 *   e.g. after its idle timeout or a restart; bytes in flight are lost.
 * - `DUST_ERR_ENSEMBLE_SESSION_CLOSED`: the server closed or aborted the session (0xF2) before both
 *   directions were finished.
 * - `DUST_ERR_ENSEMBLE_RECONNECT_TIMEOUT`: no connection was open for `reconnectTimeoutMs`.
 * - `DUST_ERR_ENSEMBLE_ABORTED`: the application called `abort()`.
 */
export type SessionFailure =
  | 'DUST_ERR_ENSEMBLE_TOO_MANY_SESSIONS'
  | 'DUST_ERR_ENSEMBLE_UNKNOWN_SESSION'
  | 'DUST_ERR_ENSEMBLE_SESSION_CLOSED'
  | 'DUST_ERR_ENSEMBLE_RECONNECT_TIMEOUT'
  | 'DUST_ERR_ENSEMBLE_ABORTED';
