//! Filters, paging, PATCH, groups, versions, rate limit, faults, stats, state.
