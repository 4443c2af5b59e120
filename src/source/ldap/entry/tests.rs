use ldap3::asn1::{PL, StructureTag, TagClass};

use super::*;

fn prim(bytes: &[u8]) -> StructureTag {
    StructureTag {
        class: TagClass::Universal,
        id: 4,
        payload: PL::P(bytes.to_vec()),
    }
}

fn cons(id: u64, class: TagClass, inner: Vec<StructureTag>) -> StructureTag {
    StructureTag {
        class,
        id,
        payload: PL::C(inner),
    }
}

/// A SearchResultEntry as the server sends it.
fn wire(dn: &str, attrs: &[(&str, &[&[u8]])]) -> StructureTag {
    let list = attrs
        .iter()
        .map(|(name, vals)| {
            let set = cons(
                17,
                TagClass::Universal,
                vals.iter().map(|v| prim(v)).collect(),
            );
            cons(16, TagClass::Universal, vec![prim(name.as_bytes()), set])
        })
        .collect();
    cons(
        4,
        TagClass::Application,
        vec![prim(dn.as_bytes()), cons(16, TagClass::Universal, list)],
    )
}

fn raw(dn: &str, attrs: &[(&str, &[&str])]) -> RawEntry {
    RawEntry {
        dn: dn.into(),
        attributes: attrs
            .iter()
            .map(|(n, vs)| {
                (
                    n.to_string(),
                    vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
                )
            })
            .collect(),
    }
}

#[test]
fn guid_uses_active_directory_byte_order() {
    // Bytes 00..0f: the first three groups are little-endian, the rest in order.
    let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
    assert_eq!(guid_string(&bytes), "03020100-0504-0706-0809-0a0b0c0d0e0f");
    // A GUID as samba-tool prints it round-trips from the bytes AD stores.
    let stored = [
        0x4a, 0x1d, 0x0e, 0xd2, 0x8e, 0x3b, 0x6f, 0x44, 0xA9, 0x8F, 0x2B, 0x0C, 0x5E, 0x7D, 0x41,
        0x9C,
    ];
    assert_eq!(guid_string(&stored), "d20e1d4a-3b8e-446f-a98f-2b0c5e7d419c");
    assert_eq!(
        value_text("objectGUID", &stored),
        "d20e1d4a-3b8e-446f-a98f-2b0c5e7d419c"
    );
    // Any spelling of the name; a GUID of the wrong length is base64, not guessed.
    assert_eq!(
        value_text("OBJECTGUID", &bytes),
        "03020100-0504-0706-0809-0a0b0c0d0e0f"
    );
    assert_eq!(value_text("objectGUID", &[1, 2, 3]), "AQID");
}

#[test]
fn a_guid_whose_bytes_are_valid_utf8_is_still_a_guid() {
    let ascii = *b"ABCDEFGHIJKLMNOP";
    assert_eq!(
        value_text("objectGUID", &ascii),
        "44434241-4645-4847-494a-4b4c4d4e4f50"
    );
}

#[test]
fn account_enabled_follows_the_accountdisable_bit() {
    for (uac, want) in [
        ("512", "true"),
        ("514", "false"),
        ("544", "true"),
        ("546", "false"),
        ("66048", "true"),
        ("66050", "false"),
        ("2", "false"),
        ("0", "true"),
        ("-2147483646", "false"),
        (" 512 ", "true"),
        ("", ""),
        ("disabled", ""),
        ("0x2", ""),
    ] {
        assert_eq!(account_enabled(uac), want, "userAccountControl {uac:?}");
    }
}

#[test]
fn binary_values_are_base64_and_text_stays_text() {
    let sid = [1u8, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 65, 66, 67, 68];
    assert_eq!(value_text("objectSid", &sid), "AQUAAAAAAAUVAAAAQUJDRA==");
    assert_eq!(value_text("thumbnailPhoto", b"plain"), "cGxhaW4=");
    assert_eq!(value_text("description", &[0xff, 0xfe]), "//4=");
    assert_eq!(value_text("description", b"a\x00b"), "YQBi");
    assert_eq!(
        value_text("description", "Zoë\tline\nnext".as_bytes()),
        "Zoë\tline\nnext"
    );
}

#[test]
fn decode_keeps_server_order_and_every_value() {
    let tag = wire(
        "uid=a,ou=People,dc=x",
        &[
            ("mail", &[b"a@x.test", b"b@x.test"]),
            ("objectGUID", &[&[0xff; 16]]),
        ],
    );
    let entry = decode(tag).expect("a well-formed entry");
    assert_eq!(entry.dn, "uid=a,ou=People,dc=x");
    assert_eq!(entry.attributes[0].0, "mail");
    assert_eq!(
        entry.attributes[0].1,
        vec![b"a@x.test".to_vec(), b"b@x.test".to_vec()]
    );
    assert_eq!(entry.attributes[1].1, vec![vec![0xff; 16]]);
}

#[test]
fn malformed_entries_are_none_not_a_panic() {
    assert_eq!(decode(prim(b"x")), None);
    assert_eq!(decode(cons(4, TagClass::Application, vec![])), None);
    let no_attrs = cons(4, TagClass::Application, vec![prim(b"dn=x"), prim(b"oops")]);
    assert_eq!(decode(no_attrs), None);
    let bad_dn = cons(
        4,
        TagClass::Application,
        vec![prim(&[0xff]), cons(16, TagClass::Universal, vec![])],
    );
    assert_eq!(decode(bad_dn), None);
    let referral = cons(19, TagClass::Application, vec![prim(b"ldap://elsewhere/")]);
    assert_eq!(decode(referral), None);
}

#[test]
fn records_align_to_a_growing_header() {
    let mut t = Table::new(&[]);
    t.push(raw("cn=a", &[("cn", &["a"]), ("mail", &["a@x", "a2@x"])]));
    t.push(raw(
        "cn=b",
        &[
            ("CN", &["b"]),
            ("title", &["Agent"]),
            ("userAccountControl", &["514"]),
        ],
    ));
    t.push(raw("cn=c", &[("mail", &["c@x"])]));
    assert_eq!(t.len(), 3);
    let (header, records) = t.finish();
    assert_eq!(
        header,
        [
            "dn",
            "cn",
            "mail",
            "title",
            "userAccountControl",
            "accountEnabled"
        ]
    );
    let rows: Vec<(u64, Vec<&str>)> = records
        .iter()
        .map(|r| (r.row, r.fields.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, vec!["cn=a", "a", "a@x;a2@x", "", "", ""]),
            (2, vec!["cn=b", "b", "", "Agent", "514", "false"]),
            (3, vec!["cn=c", "", "c@x", "", "", ""]),
        ]
    );
}

#[test]
fn requested_names_keep_their_spelling_and_order() {
    let asked: Vec<String> = ["mail", "sAMAccountName", "accountEnabled", "*"]
        .map(String::from)
        .into();
    let mut t = Table::new(&asked);
    t.push(raw(
        "cn=a",
        &[
            ("samaccountname", &["ghopper"]),
            ("MAIL", &["g@x"]),
            ("useraccountcontrol", &["512"]),
        ],
    ));
    let (header, records) = t.finish();
    assert_eq!(
        header,
        [
            "dn",
            "mail",
            "sAMAccountName",
            "accountEnabled",
            "useraccountcontrol"
        ]
    );
    assert_eq!(records[0].fields, ["cn=a", "g@x", "ghopper", "true", "512"]);
}

#[test]
fn no_account_enabled_column_without_user_account_control() {
    let mut t = Table::new(&[]);
    t.push(raw("cn=a", &[("cn", &["a"])]));
    assert_eq!(t.finish().0, ["dn", "cn"]);
}

mod prop {
    use proptest::prelude::*;

    use super::super::*;

    const NAMES: [&str; 5] = ["cn", "mail", "title", "manager", "employeeID"];

    fn spelled(name: &str, upper: bool) -> String {
        if upper {
            name.to_ascii_uppercase()
        } else {
            name.to_string()
        }
    }

    proptest! {
        /// Whatever attributes each entry has, in whatever spelling and order, every
        /// record is as wide as the header and each attribute's values land, joined,
        /// in the one column of that name.
        #[test]
        fn fields_land_in_their_column(
            entries in prop::collection::vec(
                prop::collection::vec(
                    (0..NAMES.len(), any::<bool>(), prop::collection::vec("[a-z0-9 @.=,]{0,12}", 1..4)),
                    0..6,
                ),
                1..20,
            )
        ) {
            let mut t = Table::new(&[]);
            let mut expected: Vec<Vec<(usize, String)>> = Vec::new();
            for (i, attrs) in entries.iter().enumerate() {
                let mut seen = std::collections::HashSet::new();
                let mut raw_attrs = Vec::new();
                let mut want = Vec::new();
                for (n, upper, values) in attrs {
                    // One attribute appears once per entry in LDAP.
                    if !seen.insert(*n) {
                        continue;
                    }
                    raw_attrs.push((spelled(NAMES[*n], *upper), values.iter().map(|v| v.as_bytes().to_vec()).collect()));
                    want.push((*n, values.join(";")));
                }
                t.push(RawEntry { dn: format!("cn=e{i}"), attributes: raw_attrs });
                expected.push(want);
            }
            let (header, records) = t.finish();
            prop_assert_eq!(records.len(), entries.len());
            for (i, (record, want)) in records.iter().zip(&expected).enumerate() {
                prop_assert_eq!(record.row, i as u64 + 1);
                prop_assert_eq!(record.fields.len(), header.len());
                prop_assert_eq!(&record.fields[0], &format!("cn=e{i}"));
                for (col, name) in header.iter().enumerate().skip(1) {
                    let n = NAMES.iter().position(|x| x.eq_ignore_ascii_case(name));
                    let n = n.expect("only known names in the header");
                    let value = want.iter().find(|(k, _)| *k == n).map_or("", |(_, v)| v.as_str());
                    prop_assert_eq!(record.fields[col].as_str(), value, "column {}", name);
                }
            }
        }
    }
}
