//! How a bar CSV becomes a [`BarSeries`] fast: the file is cut at line starts into pieces,
//! each piece is read (positional reads, no shared cursor) and parsed on whichever thread is
//! free, by [`super::csv_plain`] straight from the bytes or, if a row is not plain, by
//! [`super::csv_bars`]'s CSV reader, and the pieces are joined in file order. The result,
//! errors included, is the one a single pass gives: the first error in file order wins, the
//! time order is checked across each cut, and a file with a double quote anywhere (a quoted
//! field may hide a newline, so a cut could land inside it) is parsed again in one piece.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::bars::{BarSeries, CsvError};
use super::csv_bars::{self, Failure, Locate};
use super::csv_plain::PlainRows;

/// Loads a bar CSV file (see the module docs of [`super::bars`] for the format).
pub fn load_csv(path: &Path) -> Result<BarSeries, CsvError> {
    load_csv_with_progress(path, &mut |_, _| {})
}

/// Like [`load_csv`], calling `progress(bytes_read, total_bytes)` as the file is read, so a
/// command line can show progress on large files.
pub fn load_csv_with_progress(
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BarSeries, CsvError> {
    let io = |source| CsvError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let locate = |byte: u64| line_at(File::open(path).ok(), byte);
    let starts = cuts(&file, total, &even_points(total)).map_err(io)?;
    load(&file, total, &starts, &locate, true, progress).map_err(|e| match e {
        Failure::Csv(e) => e,
        Failure::Io(source) => io(source),
    })
}

/// Parses bar CSV text (see the module docs of [`super::bars`]). Blank lines are skipped.
pub fn parse_csv(text: &str) -> Result<BarSeries, CsvError> {
    let bytes = text.as_bytes();
    parse_cut_at(bytes, &even_points(bytes.len() as u64), true)
}

/// [`parse_csv`] by the CSV reader alone (the tests compare the fast path with it).
#[cfg(test)]
pub(super) fn parse_slow(bytes: &[u8]) -> Result<BarSeries, CsvError> {
    parse_cut_at(bytes, &[], false)
}

/// Whether all of `bytes` after the header line is plain to the fast path (for the tests).
#[cfg(test)]
pub(super) fn parses_plain(bytes: &[u8]) -> bool {
    let Ok((cols, _)) = csv_bars::read_header(&mut csv_bars::reader(bytes), &|_| 0) else {
        return false;
    };
    let start = plain_header_end(&bytes, bytes.len() as u64);
    start.is_some_and(|at| {
        let read = AtomicU64::new(0);
        let total = bytes.len() as u64;
        matches!(
            plain_piece(&bytes, at, total, cols, &read, &mut || {}),
            Ok(Some(_))
        )
    })
}

/// [`parse_csv`] with the cuts at the first line starts at or after `points` (the tests cut
/// small inputs everywhere to prove the joined result is the single-pass one); `plain`: try
/// the fast path first.
fn parse_cut_at(bytes: &[u8], points: &[u64], plain: bool) -> Result<BarSeries, CsvError> {
    let locate = |byte: u64| line_at(Some(bytes), byte);
    let total = bytes.len() as u64;
    let starts = cuts(&bytes, total, points).unwrap_or_else(|_| vec![0]);
    load(&bytes, total, &starts, &locate, plain, &mut |_, _| {}).map_err(|e| match e {
        Failure::Csv(e) => e,
        // Reading from memory cannot fail.
        Failure::Io(source) => CsvError::Io {
            path: "<memory>".into(),
            source,
        },
    })
}

/// Below this many bytes per piece another piece costs more than it saves.
const MIN_PIECE_BYTES: u64 = 1 << 20;

/// Pieces per core: the threads take pieces as they finish the last one, so a thread that runs
/// slower (a busier core) takes fewer, and the wait at the end is at most one small piece.
const PIECES_PER_CORE: usize = 8;

/// Threads that parse: one per core, at most 8.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// Where to cut a file of `total` bytes: [`PIECES_PER_CORE`] pieces per thread for files of
/// many MB, fewer below that, none under 2 MB; the points are evenly spaced.
fn even_points(total: u64) -> Vec<u64> {
    let by_size = usize::try_from(total / MIN_PIECE_BYTES).unwrap_or(usize::MAX);
    let pieces = (threads() * PIECES_PER_CORE).min(by_size).max(1) as u64;
    (1..pieces).map(|k| total * k / pieces).collect()
}

/// Bytes that can be read from any offset by several threads at once.
trait Source: Sync {
    /// Reads into `buf` from `offset`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
}

impl Source for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

impl Source for &[u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// Bytes `[at, end)` of a source as a `Read`, counting what it read into a counter shared by
/// all pieces and noting whether a double quote went by.
struct Range<'a, S: Source> {
    source: &'a S,
    at: u64,
    end: u64,
    read: &'a AtomicU64,
    quoted: bool,
}

impl<S: Source> Read for Range<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = usize::try_from(self.end - self.at)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = self.source.read_at(&mut buf[..want], self.at)?;
        self.at += n as u64;
        self.quoted |= buf[..n].contains(&b'"');
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where each piece starts: 0, then the first line start after each of `points` (ascending,
/// without repeats; a point with no newline after it is dropped).
fn cuts<S: Source>(source: &S, total: u64, points: &[u64]) -> std::io::Result<Vec<u64>> {
    let mut starts = vec![0];
    let mut buf = [0u8; 1 << 12];
    for &point in points {
        let mut at = point.max(starts.last().copied().unwrap_or(0));
        let found = loop {
            let n = source.read_at(&mut buf, at)?;
            if n == 0 {
                break None;
            }
            if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                break Some(at + i as u64 + 1);
            }
            at += n as u64;
        };
        match found {
            Some(start) if start < total && Some(&start) != starts.last() => starts.push(start),
            _ => {}
        }
    }
    Ok(starts)
}

/// A piece's rows (or why there are none) and whether a double quote went by.
type Parsed = (Result<(BarSeries, Option<u64>), Failure>, bool);

/// Parses the pieces that start at `starts` (the first at 0) and joins them; `plain`: try the
/// fast path ([`super::csv_plain`]) on each piece first.
fn load<S: Source>(
    source: &S,
    total: u64,
    starts: &[u64],
    locate: Locate<'_>,
    plain: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BarSeries, Failure> {
    let read = AtomicU64::new(0);
    let range = |at: u64, end: u64| Range {
        source,
        at,
        end,
        read: &read,
        quoted: false,
    };
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([total]).collect();
    let header_read = AtomicU64::new(0);
    let mut head = csv_bars::reader(Range {
        read: &header_read,
        ..range(0, ends[0])
    });
    let (cols, header_offset) = match csv_bars::read_header(&mut head, locate) {
        Ok(header) => header,
        Err(_) if starts.len() > 1 && head.get_ref().quoted => {
            return load(source, total, &[0], locate, plain, &mut |_, _| {})
        }
        Err(e) => return Err(e),
    };
    let rows_start = plain.then(|| plain_header_end(source, ends[0])).flatten();
    // Piece `k`: by the fast path if it can, else by the CSV reader (piece 0 reads the header
    // again); `tick` is called as bytes come in.
    let piece = |k: usize, tick: &mut dyn FnMut()| -> Parsed {
        let (at, end) = (starts[k], ends[k]);
        if let Some(from) = if k == 0 {
            rows_start
        } else {
            Some(at).filter(|_| plain)
        } {
            // The header line counts as read.
            read.fetch_add(from - at, Ordering::Relaxed);
            match plain_piece(source, from, end, cols, &read, tick) {
                Ok(Some(parsed)) => return (Ok(parsed), false),
                Ok(None) => {}
                Err(e) => return (Err(Failure::Io(e)), false),
            }
        }
        let mut rdr = csv_bars::reader(range(at, end));
        let parsed = match k {
            0 => csv_bars::read_header(&mut rdr, locate)
                .and_then(|_| csv_bars::parse_rows(&mut rdr, cols, 0, end, locate)),
            _ => csv_bars::parse_rows(&mut rdr, cols, at, end - at, locate),
        };
        (parsed, rdr.get_ref().quoted)
    };
    // Pieces go to whichever thread asks next; this thread also reports the progress.
    let next = AtomicUsize::new(0);
    let take = |tick: &mut dyn FnMut()| {
        let k = next.fetch_add(1, Ordering::Relaxed);
        (k < starts.len()).then(|| (k, piece(k, tick)))
    };
    let mut pieces = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads().min(starts.len()))
            .map(|_| scope.spawn(|| std::iter::from_fn(|| take(&mut || {})).collect::<Vec<_>>()))
            .collect();
        let mut tick = || progress(read.load(Ordering::Relaxed).min(total), total);
        let mut pieces: Vec<_> = std::iter::from_fn(|| take(&mut tick)).collect();
        for helper in helpers {
            match helper.join() {
                Ok(done) => pieces.extend(done),
                Err(_) => pieces.push((usize::MAX, (Err(panicked()), false))),
            }
        }
        pieces
    });
    pieces.sort_by_key(|(k, _)| *k);
    progress(read.load(Ordering::Relaxed).min(total), total);
    if starts.len() > 1 && pieces.iter().any(|(_, (_, quoted))| *quoted) {
        // A quote somewhere: a cut may have split a quoted field; read it in one piece.
        return load(source, total, &[0], locate, plain, &mut |_, _| {});
    }
    let mut series = BarSeries::default();
    for (_, (parsed, _)) in pieces {
        let (piece, first_offset) = parsed?;
        if let (Some(prev), Some(next), Some(offset)) = (series.last(), piece.first(), first_offset)
        {
            if next.time_ms <= prev.time_ms {
                return Err(CsvError::NotIncreasing {
                    line: locate(offset),
                    value: piece.label(0).unwrap_or_default().into_owned(),
                    previous: series.last_label(),
                }
                .into());
            }
        }
        series.append(piece);
    }
    if series.is_empty() {
        return Err(CsvError::NoRows {
            line: locate(header_offset) + 1,
        }
        .into());
    }
    Ok(series)
}

/// Where the rows start when the header is the file's first line and a plain one (no quote,
/// no `\r` but before its `\n`, not blank): after that line, within piece 0 (ending at
/// `end`). `None`: piece 0 goes to the CSV reader.
fn plain_header_end<S: Source>(source: &S, end: u64) -> Option<u64> {
    let mut buf = [0u8; 1 << 12];
    let n = source.read_at(&mut buf, 0).ok()?;
    let nl = buf[..n].iter().position(|&b| b == b'\n')?;
    let line = buf[..nl].strip_suffix(b"\r").unwrap_or(&buf[..nl]);
    let plain = !line.trim_ascii().is_empty() && !line.iter().any(|&b| b == b'"' || b == b'\r');
    Some(nl as u64 + 1).filter(|&start| plain && start <= end)
}

/// Bytes read at a time by the fast path (a whole number of lines is parsed from each).
const CHUNK: usize = 1 << 17;

/// The rows of bytes `[at, end)` (a line start, and a line start or the file's end) by the
/// fast path, read chunk by chunk; `None` if it gave up (the piece is not plain).
fn plain_piece<S: Source>(
    source: &S,
    at: u64,
    end: u64,
    cols: csv_bars::Columns,
    read: &AtomicU64,
    tick: &mut dyn FnMut(),
) -> std::io::Result<Option<(BarSeries, Option<u64>)>> {
    let mut rows = PlainRows::new(cols, end - at);
    let mut buf = vec![0u8; CHUNK];
    // `buf[..held]` holds the bytes from file offset `pos`.
    let (mut pos, mut held) = (at, 0usize);
    loop {
        let left = end - pos - held as u64;
        let want = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(CHUNK - held);
        let n = match (left, want) {
            (0, _) => 0,
            // A line longer than the buffer.
            (_, 0) => return Ok(None),
            _ => source.read_at(&mut buf[held..held + want], pos + held as u64)?,
        };
        read.fetch_add(n as u64, Ordering::Relaxed);
        tick();
        held += n;
        // At the end all that is held is parsed; before it, the whole lines.
        let upto = match n {
            0 => held,
            _ => buf[..held]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1),
        };
        if rows.parse(&buf[..upto], pos).is_none() {
            return Ok(None);
        }
        if n == 0 {
            return Ok(Some(rows.finish()));
        }
        buf.copy_within(upto..held, 0);
        held -= upto;
        pos += upto as u64;
    }
}

fn panicked() -> Failure {
    Failure::Io(std::io::Error::other("a CSV reader thread panicked"))
}

/// The 1-based line of the record the reader says starts at byte `offset`. Counted only when
/// an error needs it (the reader's own line numbers skip blank lines, and counting every row
/// would cost time on every load). The reader's offset is where the previous record ended, so
/// blank lines right after it belong to the gap, not to the record.
fn line_at(source: Option<impl Read>, offset: u64) -> usize {
    let Some(mut source) = source else { return 0 };
    let mut line = 1;
    let mut at = 0u64;
    let mut buf = [0u8; 1 << 16];
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) | Err(_) => return line,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if at >= offset && b != b'\n' && b != b'\r' {
                return line;
            }
            if b == b'\n' {
                line += 1;
            }
            at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_cut_at, BarSeries, CsvError};

    fn outcome(r: Result<BarSeries, CsvError>) -> String {
        match r {
            Ok(series) => format!(
                "{:?} {:?}",
                series.bars().collect::<Vec<_>>(),
                series.labels().collect::<Vec<_>>()
            ),
            Err(e) => format!("error: {e}"),
        }
    }

    /// Every text, cut at every byte (one cut, then two), gives what one pass gives: the same
    /// bars and labels, or the same error naming the same line.
    #[test]
    fn a_file_cut_anywhere_parses_as_in_one_piece() {
        let mut rows = String::from("date,open,high,low,close,volume\r\n");
        for i in 0..12 {
            rows.push_str(&format!(
                "2024-01-01 00:{i:02}:00,1.5,2.25,1,2,{}\n",
                i * 10
            ));
            if i % 5 == 2 {
                rows.push_str("\n \n");
            }
        }
        let valid = rows.clone();
        let texts = [
            valid.clone(),
            valid.replace("00:07:00,1.5", "00:07:00,x"),
            valid.replace("00:09:00", "00:03:00"),
            valid.replace("00:10:00,1.5,2.25,1,2,100", "00:10:00,1.5,2.25"),
            valid
                .replace("00:06:00", "\"00:06:00\"")
                .replace("2024-01-01 \"", "\"2024-01-01 "),
            valid.replace("00:08:00,1.5,2.25,1,2,80", "00:08:00,1.5,2.25,1,2,\"8\n0\""),
            format!("{valid}2024-01-02,1,1,1,\u{e9}1,1\n"),
            "date,open,high,low,close\n\n\n\n".to_string(),
            "date,open,high,low,close\n2024-01-01,1,1,1,1\n".to_string(),
        ];
        for text in &texts {
            let bytes = text.as_bytes();
            let whole = outcome(parse_cut_at(bytes, &[], false));
            assert_eq!(outcome(parse_cut_at(bytes, &[], true)), whole, "{text:?}");
            for p in 0..bytes.len() as u64 {
                for plain in [false, true] {
                    assert_eq!(
                        outcome(parse_cut_at(bytes, &[p], plain)),
                        whole,
                        "cut at {p} of {text:?}"
                    );
                }
                let q = (p * 7 + 13) % bytes.len() as u64;
                let (a, b) = (p.min(q), p.max(q));
                assert_eq!(
                    outcome(parse_cut_at(bytes, &[a, b], true)),
                    whole,
                    "cuts at {a}, {b}"
                );
            }
        }
        assert!(outcome(parse_cut_at(texts[1].as_bytes(), &[], true)).contains("line 11"));
        assert!(outcome(parse_cut_at(texts[2].as_bytes(), &[], true)).contains("not after"));
    }
}
