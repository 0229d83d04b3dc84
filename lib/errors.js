'use strict';

/** A mistake in how the command was called (exit status 2). */
class UsageError extends Error {}

module.exports = { UsageError };
