//! plan.parquet written and read back: one row per change and per create, the
//! content hash catching any change, the writer thread reporting a failed write.

use super::*;

fn update(row: u64) -> PlannedUser {
    PlannedUser {
        row: Some(row),
        external_id: Some(format!("E{row}")),
        user_name: Some(format!("u{row}@example.com")),
        action: Action::Update,
        scim_id: Some(format!("id-{row}")),
        version: Some("W/\"3\"".into()),
        body: None,
        changes: vec![
            PlannedChange {
                path: "title".into(),
                before: Some("Agent".into()),
                after: Some("Lead".into()),
                op: Some(r#"{"op":"replace","path":"title","value":"Lead"}"#.into()),
            },
            PlannedChange {
                path: "groups".into(),
                before: None,
                after: Some("Sales".into()),
                op: Some(r#"{"add":[{"id":"g1","name":"Sales"}],"remove":[]}"#.into()),
            },
        ],
        fields: 2,
    }
}

fn create(row: u64) -> PlannedUser {
    PlannedUser {
        row: Some(row),
        external_id: Some(format!("E{row}")),
        user_name: Some(format!("u{row}@example.com")),
        action: Action::Create,
        scim_id: None,
        version: None,
        body: Some(format!(r#"{{"userName":"u{row}@example.com"}}"#)),
        changes: Vec::new(),
        // Not stored: a create read back counts no fields.
        fields: 0,
    }
}

fn write(path: &std::path::Path, users: Vec<PlannedUser>) -> PlanWritten {
    let mut w = PlanWriter::try_new(
        path,
        PlanOrigin {
            run_id: "r1".into(),
            mapping_text: "version = 1".into(),
            ..PlanOrigin::default()
        },
    )
    .unwrap();
    for u in users {
        w.write(u).unwrap();
    }
    w.close().unwrap()
}

#[test]
fn users_read_back_as_written_with_one_row_per_change_and_per_create() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join(PLAN_FILE);
    let users: Vec<PlannedUser> = (1..=20_000)
        .map(|r| if r % 2 == 0 { update(r) } else { create(r) })
        .collect();
    let written = write(&p, users.clone());
    assert_eq!(written.users, 20_000);
    assert_eq!(written.rows, 10_000 + 2 * 10_000);
    assert_eq!(written.tally.fields["title"], 10_000);
    assert_eq!(written.tally.actions["create"], 10_000);
    let mut r = PlanReader::open(&p).unwrap();
    let mut back = Vec::new();
    while let Some(u) = r.next_user().unwrap() {
        back.push(u);
    }
    let file = r.finish().unwrap();
    assert_eq!(file.sha256, written.sha256);
    assert_eq!(file.mapping_text, "version = 1");
    assert_eq!(back.len(), users.len());
    assert!(back == users, "users read back differ");
    assert_eq!(
        back[1].ops().unwrap().len(),
        1,
        "the membership op is no PATCH op"
    );
    let members = back[1].memberships().unwrap().expect("planned");
    assert_eq!(
        (members.add[0].id.as_str(), members.remove.len()),
        ("g1", 0)
    );
    let v = verify(&p).unwrap();
    assert_eq!((v.users, v.membership_users), (20_000, 10_000));
}

#[test]
fn a_plan_whose_rows_changed_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.parquet");
    let b = tmp.path().join("b.parquet");
    write(&a, vec![update(1), create(2)]);
    let mut changed = update(1);
    changed.changes[0].after = Some("CEO".into());
    let other = write(&b, vec![changed, create(2)]);
    // b's rows under a's footer: same shape, one value differs.
    let mut bytes = std::fs::read(&b).unwrap();
    let recorded = verify(&a).unwrap().sha256;
    let at = bytes
        .windows(other.sha256.len())
        .position(|w| w == other.sha256.as_bytes())
        .unwrap();
    bytes[at..at + recorded.len()].copy_from_slice(recorded.as_bytes());
    std::fs::write(&b, bytes).unwrap();
    let err = verify(&b).unwrap_err();
    assert!(matches!(err, PlanFileError::Altered { .. }), "{err}");
    // a truncated file is refused too
    let bytes = std::fs::read(&a).unwrap();
    std::fs::write(&a, &bytes[..bytes.len() / 2]).unwrap();
    assert!(verify(&a).is_err());
}

#[test]
fn the_writer_thread_writes_what_it_is_given_and_says_why_it_could_not() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join(PLAN_FILE);
    let origin = PlanOrigin {
        run_id: "r1".into(),
        ..PlanOrigin::default()
    };
    let mut t = PlanThread::spawn(PlanWriter::try_new(&p, origin.clone()).unwrap()).unwrap();
    for r in 1..=2000 {
        assert!(t.write(update(r)));
    }
    let written = t.close().unwrap();
    assert_eq!((written.users, written.rows), (2000, 4000));
    assert_eq!(verify(&p).unwrap().sha256, written.sha256);
    // A disk that is full: the plan cannot be closed, and close says so.
    let full = std::path::Path::new("/dev/full");
    if full.exists() {
        let mut t = PlanThread::spawn(PlanWriter::try_new(full, origin).unwrap()).unwrap();
        for r in 1..=10 {
            t.write(create(r));
        }
        let err = t.close().unwrap_err();
        assert!(err.to_string().contains("/dev/full"), "{err}");
    }
}
