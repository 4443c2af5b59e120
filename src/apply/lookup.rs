//! Finding existing users, chosen by cost: a paged prefetch of the whole tenant
//! (pages of 25 with trimmed attributes, active and inactive users) into the
//! [`TenantIndex`], or per-row `filter` lookups (externalId, then userName) when the
//! input is small beside the tenant. The choice and its cost go to the summary.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::stream::{self, StreamExt};
use parking_lot::RwLock;

use crate::apply::api::{Api, ApiError};
use crate::mapping::{DesiredUser, Mapping};
use crate::plan::TenantIndex;
use crate::scim::filter;
use crate::scim::model::Group;
use crate::scim::target::Profile;

/// Genesys warns that pages over 25 may hit internal limits.
pub const PAGE: u64 = 25;

/// How existing users are found (`--lookup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupMode {
    /// Whichever costs fewer calls.
    Auto,
    /// Page through the tenant first.
    Prefetch,
    /// One filter query per row.
    Filter,
}

/// The lookup strategy a run uses, with its cost so far.
#[derive(Debug)]
pub struct LookupChoice {
    per_row: bool,
    known: bool,
    why: String,
    calls: AtomicU64,
}

impl LookupChoice {
    /// Per-row filter lookups?
    pub fn is_per_row(&self) -> bool {
        self.per_row
    }
    /// Is the index the caller's (a sync's state), with no tenant read?
    pub fn is_known(&self) -> bool {
        self.known
    }
    /// Calls spent on lookups and prefetch.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    /// One line for the summary.
    pub fn describe(&self) -> String {
        self.why.clone()
    }
}

/// Attributes a prefetch asks for: what planning compares, nothing more. A
/// generic server is asked for core and enterprise attributes only (it may not
/// know the Genesys extension).
/// The custom extensions (`scimport schema extend`) the mapping writes are asked
/// for whole, by URN.
fn prefetch_attributes(profile: Profile, mapping: &Mapping) -> String {
    let mut attrs = match profile {
        Profile::Genesys => GENESYS_PREFETCH,
        Profile::Generic => GENERIC_PREFETCH,
    }
    .to_string();
    let mut urns: Vec<&str> = mapping
        .fields()
        .iter()
        .filter_map(|f| match &f.target {
            crate::mapping::Target::Extension { urn, .. } => Some(urn.as_str()),
            _ => None,
        })
        .collect();
    urns.sort_unstable();
    urns.dedup();
    for urn in urns {
        attrs.push(',');
        attrs.push_str(urn);
    }
    attrs
}

const GENERIC_PREFETCH: &str = "id,userName,externalId,active,displayName,name,title,emails,phoneNumbers,roles,meta,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

const GENESYS_PREFETCH: &str = "id,userName,externalId,active,displayName,name,title,emails,phoneNumbers,roles,meta,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:dateHire,\
     urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager,\
     urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingSkills,\
     urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:routingLanguages";

/// Builds the index the run plans against, choosing prefetch or per-row lookups
/// (`mode`; `Auto` compares a prefetch's pages with `expected_rows` lookups).
pub async fn build_index(
    api: &Api,
    mapping: &Mapping,
    mode: LookupMode,
    expected_rows: Option<u64>,
) -> Result<(TenantIndex, LookupChoice), ApiError> {
    let mut index = TenantIndex::new();
    let mut calls = 0u64;
    if mapping.manages_groups() {
        for g in fetch_all_groups(api, &mut calls).await? {
            index.insert_group(g);
        }
    }
    let (per_row, why) = match mode {
        LookupMode::Filter => (true, "filter lookups per row (--lookup filter)".to_string()),
        LookupMode::Prefetch => (false, String::new()),
        LookupMode::Auto => {
            let active = api.list_users(1, 0, None, None).await?.total_results;
            let inactive = api
                .list_users(1, 0, None, Some("active eq false"))
                .await?
                .total_results;
            calls += 2;
            let prefetch_cost = active.div_ceil(PAGE) + inactive.div_ceil(PAGE);
            let rows = expected_rows.unwrap_or(u64::MAX);
            if prefetch_cost <= rows {
                (
                    false,
                    format!(
                        "prefetch: {} tenant users in {prefetch_cost} pages, cheaper than {rows} per-row lookups",
                        active + inactive
                    ),
                )
            } else {
                (
                    true,
                    format!(
                        "filter lookups per row: {rows} rows cost less than a {prefetch_cost}-page prefetch of {} users",
                        active + inactive
                    ),
                )
            }
        }
    };
    let mut why = why;
    if !per_row {
        let before = calls;
        for filter in [None, Some("active eq false")] {
            read_ahead_users(api, mapping, filter, &mut index, &mut calls).await?;
        }
        if why.is_empty() {
            why = format!("prefetch (--lookup prefetch): {} pages", calls - before);
        }
    }
    Ok((
        index,
        LookupChoice {
            per_row,
            known: false,
            why,
            calls: AtomicU64::new(calls),
        },
    ))
}

/// The index a caller already holds (a sync's state): no user is read; the groups
/// are, when the mapping manages them (memberships are not in the state).
pub async fn known_index(
    api: &Api,
    mapping: &Mapping,
    mut index: TenantIndex,
) -> Result<(TenantIndex, LookupChoice), ApiError> {
    let mut calls = 0u64;
    if mapping.manages_groups() {
        for g in fetch_all_groups(api, &mut calls).await? {
            index.insert_group(g);
        }
    }
    let why = format!(
        "the sync state: {} users known, no tenant read{}",
        index.user_count(),
        if calls > 0 {
            format!(" (groups: {calls} pages)")
        } else {
            String::new()
        }
    );
    Ok((
        index,
        LookupChoice {
            per_row: false,
            known: true,
            why,
            calls: AtomicU64::new(calls),
        },
    ))
}

/// Pages through the tenant's users (those matching `filter`) into `index`, each page
/// as it arrives: the tenant is never collected first, so the read-ahead's memory is
/// the index plus the pages in flight (up to 8 of 25 users). Pages are inserted in
/// page order, so a key two tenant users share resolves as it always did.
async fn read_ahead_users(
    api: &Api,
    mapping: &Mapping,
    filter: Option<&str>,
    index: &mut TenantIndex,
    calls: &mut u64,
) -> Result<(), ApiError> {
    let attrs = prefetch_attributes(api.profile(), mapping);
    let attrs = Some(attrs.as_str());
    let first = api.list_users(1, PAGE, attrs, filter).await?;
    *calls += 1;
    let total = first.total_results;
    let listed = first.resources.len() as u64;
    for u in first.resources {
        index.insert_user(u);
    }
    if total > listed {
        let starts = (1..).map(|i| 1 + i * PAGE).take_while(move |s| *s <= total);
        let mut pages = stream::iter(starts)
            .map(|start| async move { api.list_users(start, PAGE, attrs, filter).await })
            .buffered(8);
        while let Some(page) = pages.next().await {
            *calls += 1;
            for u in page?.resources {
                index.insert_user(u);
            }
        }
    }
    Ok(())
}

/// Every group of the tenant, with members.
pub async fn fetch_all_groups(api: &Api, calls: &mut u64) -> Result<Vec<Group>, ApiError> {
    let mut groups = Vec::new();
    let mut start = 1;
    loop {
        let page = api.list_groups(start, PAGE, None).await?;
        *calls += 1;
        let n = page.resources.len() as u64;
        groups.extend(page.resources);
        if n == 0 || start + n > page.total_results {
            break;
        }
        start += n;
    }
    Ok(groups)
}

/// Looks one row's user up (externalId, then userName) and its manager, and puts
/// what it finds in the index.
pub async fn lookup_row(
    api: &Api,
    index: &RwLock<TenantIndex>,
    d: &DesiredUser,
) -> Result<(), ApiError> {
    let row = Some(d.row);
    let mut found = false;
    if let Some(x) = d.external_id() {
        let users = api.find_users(row, &filter::eq("externalId", x)).await?;
        found = !users.is_empty();
        let mut idx = index.write();
        for u in users {
            idx.insert_user(u);
        }
    }
    if !found && let Some(n) = d.user_name() {
        let users = api.find_users(row, &filter::eq("userName", n)).await?;
        let mut idx = index.write();
        for u in users {
            idx.insert_user(u);
        }
    }
    let manager = d
        .user
        .enterprise
        .as_ref()
        .and_then(|e| e.manager.as_ref())
        .map(|m| m.value.clone())
        .filter(|m| !m.is_empty());
    if let Some(m) = manager {
        let known = index.read().id_by_external_id(&m).is_some();
        if !known {
            let users = api.find_users(row, &filter::eq("externalId", &m)).await?;
            let mut idx = index.write();
            for u in users {
                idx.insert_user(u);
            }
        }
    }
    Ok(())
}
