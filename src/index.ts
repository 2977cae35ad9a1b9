/**
 * vecseal: client-side encryption of vector embeddings (and their text and metadata) before they
 * reach any database. This entry point grows with the SDK; today it exposes the core (the same as
 * `vecseal/core`) and the error classes.
 */
export * from './core/index.js';
