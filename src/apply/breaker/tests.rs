use super::*;

const T: Sample = Sample::Failed(Cause::Timeout);
const E: Sample = Sample::Failed(Cause::ServerError);
const OK: Sample = Sample::Answered;

fn tracker() -> Tracker {
    Tracker::new(BreakerOptions {
        window: 10,
        min_calls: 5,
        failure_ratio: 0.8,
        probe_delay: Duration::from_secs(2),
        probes: 2,
        max_trips: 3,
    })
}

/// Feeds `samples`; returns the index of the one that opened the breaker.
fn feed(t: &mut Tracker, samples: &[Sample]) -> Option<usize> {
    samples.iter().position(|s| t.record(Class::Write, *s))
}

#[test]
fn trips_once_most_of_a_full_enough_window_failed() {
    let mut t = tracker();
    // Four failures are fewer than min_calls: no trip however bad.
    assert_eq!(feed(&mut t, &[T, T, T, T]), None);
    assert!(!t.is_open());
    // The fifth makes 5 of 5.
    assert!(t.record(Class::Write, T));
    assert!(t.is_open());
}

#[test]
fn a_blip_among_answers_does_not_trip() {
    let mut t = tracker();
    let mut samples = vec![OK, E, E, E];
    samples.extend([OK; 30]);
    samples.extend([E, E, OK, E, OK, OK, E, OK]);
    assert_eq!(feed(&mut t, &samples), None);
    // 7 of 10 is under 80 %.
    let mut t = tracker();
    assert_eq!(feed(&mut t, &[OK, OK, OK, E, E, E, E, E, E, E]), None);
    assert!(t.record(Class::Write, E), "8 of 10 trips");
}

#[test]
fn the_window_forgets_old_failures() {
    let mut t = tracker();
    assert_eq!(feed(&mut t, &[OK, OK, T, T, T]), None);
    // Ten answers push the failures out; then four failures are 4 of 10.
    assert_eq!(feed(&mut t, &[OK; 10]), None);
    assert_eq!(feed(&mut t, &[T, T, T, T]), None);
    assert!(!t.is_open());
}

#[test]
fn samples_while_open_are_ignored_and_an_answering_probe_closes() {
    let mut t = tracker();
    assert_eq!(feed(&mut t, &[T; 5]), Some(4));
    assert_eq!(feed(&mut t, &[T; 20]), None, "already open");
    assert_eq!(t.probe_delay(), Duration::from_secs(2));
    assert_eq!(t.probe_result(Ok(())), ProbeVerdict::Close);
    assert!(!t.is_open());
    // Closed with a fresh window: four failures do not trip it again.
    assert_eq!(feed(&mut t, &[T; 4]), None);
}

#[test]
fn a_failing_probe_is_retried_once_then_stops_with_what_tripped() {
    let mut t = tracker();
    feed(&mut t, &[T, T, T, E, T]);
    assert!(t.is_open());
    assert_eq!(
        t.probe_result(Err("timed out".into())),
        ProbeVerdict::Again(Duration::from_secs(4))
    );
    let ProbeVerdict::Stop(why) = t.probe_result(Err("timed out".into())) else {
        panic!("two failed probes stop the run");
    };
    assert_eq!(
        why,
        "the tenant failed 5 of the last 5 writes (4 timeouts, 1 5xx); \
         a probe 2 s later timed out too, another 4 s after that timed out"
    );
}

#[test]
fn a_second_probe_that_answers_closes() {
    let mut t = tracker();
    feed(&mut t, &[E; 5]);
    assert!(matches!(
        t.probe_result(Err("answered HTTP 503".into())),
        ProbeVerdict::Again(_)
    ));
    assert_eq!(t.probe_result(Ok(())), ProbeVerdict::Close);
    // The next trip starts probing from the first delay again.
    feed(&mut t, &[E; 5]);
    assert_eq!(t.probe_delay(), Duration::from_secs(2));
}

#[test]
fn relapses_after_answering_probes_stop_the_run() {
    let mut t = tracker();
    for trip in 1..=3 {
        assert_eq!(feed(&mut t, &[T; 5]), Some(4), "trip {trip}");
        let v = t.probe_result(Ok(()));
        if trip < 3 {
            assert_eq!(v, ProbeVerdict::Close, "trip {trip}");
        } else {
            let ProbeVerdict::Stop(why) = v else {
                panic!("the third trip in a row stops: {v:?}");
            };
            assert!(why.contains("tripped 3 times in a row"), "{why}");
            assert!(why.starts_with("the tenant failed 5 of the last 5 writes (5 timeouts)"));
        }
    }
}

#[test]
fn a_healthy_stretch_forgets_earlier_trips() {
    let mut t = tracker();
    for _ in 0..2 {
        feed(&mut t, &[T; 5]);
        assert_eq!(t.probe_result(Ok(())), ProbeVerdict::Close);
    }
    // A full window of answers between trips: the count starts over.
    feed(&mut t, &[OK; 10]);
    for _ in 0..2 {
        feed(&mut t, &[T; 10]);
        assert_eq!(t.probe_result(Ok(())), ProbeVerdict::Close);
    }
}

#[tokio::test]
async fn the_gate_holds_calls_while_open_and_releases_them_on_close_or_stop() {
    let b = std::sync::Arc::new(Breaker::new(BreakerOptions {
        min_calls: 2,
        ..BreakerOptions::default()
    }));
    assert_eq!(b.admit().await, Ok(()));
    assert!(!b.record(Class::Write, T));
    assert!(b.record(Class::Write, T), "2 of 2 opens it");
    assert!(!b.is_closed());
    let waiting = tokio::spawn({
        let b = b.clone();
        async move { b.admit().await }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    assert_eq!(b.probe_result(Ok(())), None);
    assert_eq!(waiting.await.expect("task"), Ok(()));

    // Open again, then a halt: the waiting call gets the reason, so do later ones.
    b.record(Class::Write, T);
    assert!(b.record(Class::Write, T));
    let waiting = tokio::spawn({
        let b = b.clone();
        async move { b.admit().await }
    });
    b.halt("interrupted".into());
    assert_eq!(waiting.await.expect("task"), Err("interrupted".into()));
    assert_eq!(b.admit().await, Err("interrupted".into()));
    assert_eq!(b.stopped().await, "interrupted");
    // The first reason wins; a late probe answer does not reopen the gate.
    b.halt("later".into());
    assert_eq!(b.probe_result(Ok(())), None);
    assert_eq!(b.stop_reason().as_deref(), Some("interrupted"));
}

#[tokio::test]
async fn failed_probes_stop_the_gate_with_the_reason() {
    let b = Breaker::new(BreakerOptions {
        min_calls: 1,
        ..BreakerOptions::default()
    });
    assert!(b.record(Class::Write, Sample::Failed(Cause::Connection)));
    assert!(b.probe_result(Err("could not connect".into())).is_some());
    assert_eq!(b.probe_result(Err("could not connect".into())), None);
    let why = b.admit().await.expect_err("stopped");
    assert!(
        why.starts_with("the tenant failed 1 of the last 1 writes (1 dropped connections)"),
        "{why}"
    );
}

#[test]
fn answering_reads_do_not_hide_failing_writes() {
    let mut t = tracker();
    // Each create times out, then its adoption lookup answers: per class, the
    // writes are 5 of 5 failed.
    for i in 0..4 {
        assert!(!t.record(Class::Write, T), "write {i}");
        assert!(!t.record(Class::Read, OK), "read {i}");
    }
    assert!(t.record(Class::Write, T));
    // Failing reads trip on their own window too.
    let mut t = tracker();
    assert_eq!(feed(&mut t, &[OK, OK]), None);
    for _ in 0..4 {
        assert!(!t.record(Class::Read, E));
    }
    assert!(t.record(Class::Read, E));
    let ProbeVerdict::Stop(why) = ({
        t.probe_result(Err("timed out".into()));
        t.probe_result(Err("timed out".into()))
    }) else {
        panic!("stops");
    };
    assert!(
        why.starts_with("the tenant failed 5 of the last 5 reads (5 5xx)"),
        "{why}"
    );
}
