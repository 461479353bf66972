import { IteratorError } from "../errors.js";

/**
 * A query the running kernel cannot answer as written: an unknown member
 * (with the nearest names), a path that stops at something without members,
 * a predicate that does not type-check, or a verifier complaint mapped back
 * to the field or predicate that caused it.
 */
export class QueryError extends IteratorError {
  override name = "QueryError";
}
