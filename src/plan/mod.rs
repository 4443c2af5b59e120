//! Compares a valid desired user with what the tenant holds and decides an action
//! (create, minimal PATCH update, reactivate, skip, conflict). Pure.
