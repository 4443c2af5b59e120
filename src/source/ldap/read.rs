//! The paged subtree search (RFC 2696): page after page on one connection until the
//! server's cookie is empty, entries decoded into the [`Table`], continuation
//! references counted and skipped. Any failure after the first byte discards what
//! was read: the caller gets every entry or an error.

use std::time::Duration;

use ldap3::asn1::{PL, parse_tag};
use ldap3::controls::{Control, PagedResults, RawControl};
use ldap3::{Ldap, LdapResult, Scope, SearchOptions};

use super::connect::server_text;
use super::entry::{self, ACCOUNT_ENABLED_COLUMN, DN_COLUMN, Table};
use super::error::{LdapError, clean};
use super::spec::LdapSpec;

/// The OID of the paged results control.
const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";

/// What a finished search gave.
pub(crate) struct Outcome {
    pub table: Table,
    pub pages: u64,
    pub referrals_skipped: u64,
}

/// The attribute list sent to the server: the requested names without `dn` and
/// `accountEnabled` (not LDAP attributes), plus `userAccountControl` when
/// `accountEnabled` was asked for; `*` (all user attributes) when nothing is left.
pub(crate) fn wire_attributes(requested: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let push = |name: &str, out: &mut Vec<String>| {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    };
    for name in requested {
        if name.is_empty() || name.eq_ignore_ascii_case(DN_COLUMN) {
            continue;
        }
        if name.eq_ignore_ascii_case(ACCOUNT_ENABLED_COLUMN) {
            push("userAccountControl", &mut out);
        } else {
            push(name, &mut out);
        }
    }
    if out.is_empty() {
        out.push("*".to_string());
    }
    out
}

/// Reads every entry under the base DN, calling `on_entries` with the running count
/// after each page.
pub(crate) async fn search(
    ldap: &mut Ldap,
    spec: &LdapSpec,
    url: &str,
    on_entries: &(dyn Fn(u64) + Sync),
) -> Result<Outcome, LdapError> {
    if ldap3::parse_filter(&spec.filter).is_err() {
        return Err(LdapError::Filter {
            url: url.to_string(),
            filter: spec.filter.clone(),
        });
    }
    let attrs = wire_attributes(&spec.attributes);
    let mut out = Outcome {
        table: Table::new(&spec.attributes),
        pages: 0,
        referrals_skipped: 0,
    };
    let mut cookie: Vec<u8> = Vec::new();
    loop {
        let page =
            tokio::time::timeout(spec.timeout, one_page(ldap, spec, &attrs, cookie, &mut out))
                .await;
        let res = match page {
            Ok(Ok(res)) => res,
            Ok(Err(problem)) => return Err(incomplete(url, &out, problem)),
            Err(_) => {
                return Err(incomplete(
                    url,
                    &out,
                    format!("no complete page within {}", seconds(spec.timeout)),
                ));
            }
        };
        out.pages += 1;
        check_result(&res, spec, url, &out)?;
        on_entries(out.table.len());
        cookie = next_cookie(&res.ctrls);
        if cookie.is_empty() {
            return Ok(out);
        }
    }
}

/// One page: sends the search with the paged control, collects its entries into
/// `out`, returns the final result (whose control carries the next cookie).
async fn one_page(
    ldap: &mut Ldap,
    spec: &LdapSpec,
    attrs: &[String],
    cookie: Vec<u8>,
    out: &mut Outcome,
) -> Result<LdapResult, String> {
    let control: RawControl = PagedResults {
        size: i32::try_from(spec.page_size).unwrap_or(i32::MAX),
        cookie,
    }
    .into();
    let mut stream = ldap
        .with_search_options(SearchOptions::new().sizelimit(0))
        .with_controls(vec![control])
        .with_timeout(spec.timeout)
        .streaming_search(&spec.base_dn, Scope::Subtree, &spec.filter, attrs.to_vec())
        .await
        .map_err(|e| clean(&e.to_string()))?;
    loop {
        match stream.next().await {
            Ok(Some(item)) => {
                if item.is_ref() {
                    out.referrals_skipped += 1;
                } else if item.is_intermediate() {
                    continue;
                } else {
                    let decoded = entry::decode(item.0).ok_or_else(|| {
                        "the server sent an entry that cannot be decoded".to_string()
                    })?;
                    out.table.push(decoded);
                }
            }
            Ok(None) => break,
            Err(e) => return Err(lost(&e)),
        }
    }
    let res = stream.finish().await;
    if res.rc == 88 && stream_cancelled(&res) {
        return Err("the connection ended before the server finished the page".into());
    }
    Ok(res)
}

/// ldap3's synthetic "user cancelled" result (the stream ended without a result).
fn stream_cancelled(res: &LdapResult) -> bool {
    res.text == "user cancelled"
}

/// The words for a stream error.
fn lost(e: &ldap3::LdapError) -> String {
    match e {
        ldap3::LdapError::EndOfStream => "the connection was closed mid-read".into(),
        ldap3::LdapError::Timeout { .. } => "the server stopped answering mid-read".into(),
        other => format!(
            "the connection failed mid-read: {}",
            clean(&other.to_string())
        ),
    }
}

fn incomplete(url: &str, out: &Outcome, problem: String) -> LdapError {
    LdapError::Incomplete {
        url: url.to_string(),
        entries: out.table.len(),
        problem,
    }
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// Turns a page's result code into an error, or nothing for success.
fn check_result(
    res: &LdapResult,
    spec: &LdapSpec,
    url: &str,
    out: &Outcome,
) -> Result<(), LdapError> {
    let hint = match res.rc {
        0 => return Ok(()),
        4 => {
            return Err(LdapError::SizeLimit {
                url: url.to_string(),
                entries: out.table.len(),
                page_size: spec.page_size,
            });
        }
        3 => {
            "the server's time limit stopped the search; raise it for the bind account or narrow --ldap-filter"
        }
        10 => {
            "the base DN is held by another server (a referral, not followed); point the URL at the server that holds it"
        }
        11 => {
            "the server's administrative limit stopped the search; lower --page-size or narrow --ldap-filter"
        }
        12 => "the server does not support paged results (RFC 2696); scimport needs them",
        32 => {
            "the base DN does not exist on this server; check --base-dn (e.g. OU=Staff,DC=corp,DC=example,DC=com)"
        }
        34 => "--base-dn is not a valid DN (e.g. ou=People,dc=example,dc=com)",
        50 => "the bind account may not read there; check SCIMPORT_LDAP_BIND_DN and its rights",
        1 | 2 | 53 => {
            "the server refused the search; check --base-dn, --ldap-filter and --page-size"
        }
        _ => "check --base-dn and --ldap-filter, and the server's log",
    };
    let mut hint = hint.to_string();
    if spec.bind.is_none() && matches!(res.rc, 1 | 32 | 50) {
        // Active Directory answers an anonymous search with operationsError, and
        // OpenLDAP hides what an anonymous client may not read as noSuchObject.
        hint.push_str(
            "; the read was anonymous: if the directory needs a bind, set SCIMPORT_LDAP_BIND_DN and SCIMPORT_LDAP_PASSWORD",
        );
    }
    Err(LdapError::Search {
        url: url.to_string(),
        base_dn: spec.base_dn.clone(),
        code: res.rc,
        message: server_text(res.rc, &res.text),
        hint,
    })
}

/// The cookie of the paged results response control; empty when there is none
/// (the last page, or a server that ignored paging and sent everything).
fn next_cookie(ctrls: &[Control]) -> Vec<u8> {
    for Control(_, raw) in ctrls {
        if raw.ctype != PAGED_RESULTS_OID {
            continue;
        }
        let Some(val) = raw.val.as_deref() else {
            return Vec::new();
        };
        // realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING }
        let Ok((_, tag)) = parse_tag(val) else {
            return Vec::new();
        };
        let PL::C(parts) = tag.payload else {
            return Vec::new();
        };
        return match parts.into_iter().nth(1).map(|t| t.payload) {
            Some(PL::P(cookie)) => cookie,
            _ => Vec::new(),
        };
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wire_attributes_drop_computed_columns() {
        assert_eq!(wire_attributes(&[]), ["*"]);
        assert_eq!(wire_attributes(&names(&["dn"])), ["*"]);
        assert_eq!(
            wire_attributes(&names(&[
                "dn",
                "mail",
                "accountEnabled",
                "MAIL",
                "objectGUID"
            ])),
            ["mail", "userAccountControl", "objectGUID"]
        );
        assert_eq!(
            wire_attributes(&names(&["userAccountControl", "accountEnabled"])),
            ["userAccountControl"]
        );
    }

    #[test]
    fn the_cookie_is_read_from_the_response_control() {
        let raw: RawControl = PagedResults {
            size: 0,
            cookie: b"next".to_vec(),
        }
        .into();
        assert_eq!(next_cookie(&[Control(None, raw)]), b"next");
        let garbled = RawControl {
            ctype: PAGED_RESULTS_OID.into(),
            crit: false,
            val: Some(vec![0x30, 0x80]),
        };
        assert_eq!(next_cookie(&[Control(None, garbled)]), Vec::<u8>::new());
        assert_eq!(next_cookie(&[]), Vec::<u8>::new());
    }
}
