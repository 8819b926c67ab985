/**
 * Versions on the wire: the API version corral serves and accepts, and its own.
 * @module
 */

/** The API version corral serves. */
export const API_VERSION = "1.43";
/** The oldest API version corral accepts. */
export const MIN_API_VERSION = "1.24";
/** corral's version. */
export const CORRAL_VERSION = "0.1.0";
