//! Profiling aid: maps and checks the rows of a CSV file in one thread, in a loop,
//! with no I/O in the timed part, and prints ns per row; with `--fields`, also the
//! map-only cost of each `[[field]]` of the mapping alone. For `perf record`.
//!
//!     cargo run --release --example map_loop -- FILE [ROUNDS] [--fields]
use scimport::mapping::Mapping;
use scimport::source::Header;
use scimport::validate::rules;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .expect("usage: map_loop FILE [ROUNDS] [--fields]");
    let rounds: usize = args.get(1).map_or(3, |r| r.parse().expect("rounds"));
    let per_field = args.iter().any(|a| a == "--fields");
    let toml_path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mapping.toml");
    let m = Mapping::load(std::path::Path::new(toml_path)).expect("mapping");
    let mut rdr = csv::Reader::from_path(path).expect("open");
    let header = Header::new(rdr.headers().expect("h").iter().map(String::from).collect());
    let rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.expect("row").iter().map(String::from).collect())
        .collect();
    let n = rows.len() * rounds;
    let bound = m.bind(&header, None).expect("bind").without_source_hash();
    let t = std::time::Instant::now();
    let mut bad = 0usize;
    for _ in 0..rounds {
        for (i, r) in rows.iter().enumerate() {
            let fields: Vec<&str> = r.iter().map(String::as_str).collect();
            let (du, mut errors) = bound.map(i as u64 + 1, &fields);
            rules::check(&m, &du, &mut errors);
            bad += usize::from(!errors.is_empty());
        }
    }
    let ns = |t: std::time::Instant| t.elapsed().as_nanos() as f64 / n as f64;
    println!("{n} rows, {bad} invalid: map + check {:.0} ns/row", ns(t));
    if !per_field {
        return;
    }
    // The first three fields (externalId, userName, displayName) are the base every
    // mapping needs; each other field is timed as base + field, minus the base.
    let text = std::fs::read_to_string(toml_path).expect("read");
    let mut parts = text.split("[[field]]");
    let head = parts.next().expect("head");
    let blocks: Vec<&str> = parts.collect();
    let base: String = blocks[..3]
        .iter()
        .map(|b| format!("[[field]]{b}"))
        .collect();
    let time = |extra: &str| {
        let m1 = Mapping::from_toml_str(&format!("{head}{base}{extra}")).expect("mapping");
        let b1 = m1.bind(&header, None).expect("bind");
        let t = std::time::Instant::now();
        for _ in 0..rounds {
            for (i, r) in rows.iter().enumerate() {
                let fields: Vec<&str> = r.iter().map(String::as_str).collect();
                std::hint::black_box(b1.map(i as u64 + 1, &fields));
            }
        }
        ns(t)
    };
    let b0 = time("");
    println!("{b0:>6.0} ns  base (externalId, userName, displayName)");
    for block in &blocks[3..] {
        let name = block.lines().find(|l| l.starts_with("path")).unwrap_or("");
        println!(
            "{:>+6.0} ns  {name}",
            time(&format!("[[field]]{block}")) - b0
        );
    }
}
