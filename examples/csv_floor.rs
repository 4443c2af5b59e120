//! The floor for scripts/bench-validate: a bare `csv`-crate parse of a file into one
//! reused `ByteRecord`, counting records and bytes. Prints `rows seconds`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: csv_floor FILE")?;
    let started = std::time::Instant::now();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_path(&path)?;
    let mut rec = csv::ByteRecord::new();
    let mut rows = 0u64;
    let mut bytes = 0usize;
    while rdr.read_byte_record(&mut rec)? {
        rows += 1;
        bytes += rec.as_slice().len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{rows} {secs:.6} {bytes}");
    Ok(())
}
