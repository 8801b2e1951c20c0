//! Whether a JPEG's entropy-coded data covers the whole image.
//!
//! A JPEG cut short and given a fake end marker (`FF D9`) has a complete
//! marker structure, so [`super::jpeg_markers`] accepts it, and decoders
//! (the `image` crate's among them) quietly pad the missing data with zero
//! bits and fill the rest of the picture with flat grey. The only way to
//! know is to count what the data holds: this walks the Huffman codes of
//! every sequential scan (and of a progressive file's first DC scan) without
//! computing any pixel, counts the blocks decoded before the data runs out,
//! and compares that with the number the frame header promises.
//!
//! Refinement and AC scans of progressive files are not walked (their codes
//! depend on earlier scans); nor are arithmetic-coded or lossless files,
//! which cameras do not write. For those the answer is [`Coverage::Unchecked`].

/// What the walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every walked scan holds data for every block.
    Complete,
    /// A scan's data ends before its last block.
    EndsEarly {
        /// Blocks (or MCUs, for an interleaved scan) the data covers.
        decoded: u64,
        /// Blocks (or MCUs) the frame needs.
        expected: u64,
    },
    /// The data is not valid Huffman-coded JPEG (a code that no table has).
    Corrupt,
    /// Nothing was walked (coding or layout this walk does not follow).
    Unchecked,
}

/// Codes up to this many bits are decoded with one table look-up.
const FAST_BITS: u32 = 9;

#[derive(Debug, Clone, Default)]
struct Huffman {
    /// For each code length 1..=16: the largest code of that length (-1 if none).
    max_code: [i32; 17],
    /// For each code length: index into `values` of its first code, minus that code.
    offset: [i32; 17],
    values: Vec<u8>,
    /// Indexed by the next [`FAST_BITS`] bits: (code length, value); length 0
    /// when the code is longer.
    fast: Vec<(u8, u8)>,
    defined: bool,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Huffman {
        let mut table = Huffman {
            max_code: [-1; 17],
            offset: [0; 17],
            values: values.to_vec(),
            fast: vec![(0, 0); 1 << FAST_BITS],
            defined: true,
        };
        let mut code = 0i32;
        let mut index = 0i32;
        for len in 1..=16 {
            let n = i32::from(counts[len - 1]);
            if n > 0 {
                table.offset[len] = index - code;
                if len as u32 <= FAST_BITS {
                    let spread = FAST_BITS - len as u32;
                    for k in 0..n {
                        let Some(&value) = values.get((index + k) as usize) else {
                            break;
                        };
                        let first = ((code + k) as usize) << spread;
                        for slot in &mut table.fast[first..first + (1 << spread)] {
                            *slot = (len as u8, value);
                        }
                    }
                }
                code += n;
                index += n;
                table.max_code[len] = code - 1;
            }
            code <<= 1;
        }
        table
    }
}

#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: u32,
    v: u32,
}

/// Reads bits from entropy-coded data: `FF 00` is a data byte `FF`; any
/// other marker ends the data (restart markers are handled by the caller).
/// Up to eight bytes are buffered, never past a marker.
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to buffer (at a marker once `at_marker` is set).
    pos: usize,
    /// Buffered bits, most significant first; the rest are zero.
    acc: u64,
    count: u32,
    /// Set once a marker (or the end of the file) has been reached.
    at_marker: bool,
}

/// The data ended inside a block.
struct OutOfData;

enum Stop {
    OutOfData,
    BadCode,
}

impl From<OutOfData> for Stop {
    fn from(_: OutOfData) -> Self {
        Stop::OutOfData
    }
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            count: 0,
            at_marker: false,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 && !self.at_marker {
            let Some(&byte) = self.data.get(self.pos) else {
                self.at_marker = true;
                break;
            };
            if byte == 0xFF {
                if self.data.get(self.pos + 1) == Some(&0x00) {
                    self.pos += 2;
                } else {
                    self.at_marker = true;
                    break;
                }
            } else {
                self.pos += 1;
            }
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    fn consume(&mut self, n: u32) -> Result<(), OutOfData> {
        if n > self.count {
            self.fill();
            if n > self.count {
                return Err(OutOfData);
            }
        }
        self.acc = if n == 64 { 0 } else { self.acc << n };
        self.count -= n;
        Ok(())
    }

    fn decode(&mut self, table: &Huffman) -> Result<u8, Stop> {
        if self.count < 16 {
            self.fill();
        }
        let (len, value) = table.fast[(self.acc >> (64 - FAST_BITS)) as usize];
        if len > 0 {
            self.consume(u32::from(len))?;
            return Ok(value);
        }
        for len in FAST_BITS as usize + 1..=16 {
            let code = (self.acc >> (64 - len)) as i32;
            if code <= table.max_code[len] {
                self.consume(len as u32)?;
                let index = (code + table.offset[len]) as usize;
                return table.values.get(index).copied().ok_or(Stop::BadCode);
            }
        }
        if self.count < 16 {
            return Err(Stop::OutOfData); // the zero padding made no code
        }
        Err(Stop::BadCode)
    }

    /// Drops the rest of the current byte and, when the data stopped at a
    /// restart marker, steps over it. Returns whether one was there.
    fn restart(&mut self) -> bool {
        // Buffering stops at a marker, so what is left is padding.
        self.acc = 0;
        self.count = 0;
        let mut p = self.pos;
        // Fill bytes may precede the marker.
        while self.data.get(p) == Some(&0xFF) && self.data.get(p + 1) == Some(&0xFF) {
            p += 1;
        }
        if self.data.get(p) == Some(&0xFF) && matches!(self.data.get(p + 1), Some(0xD0..=0xD7)) {
            self.pos = p + 2;
            self.at_marker = false;
            true
        } else {
            false
        }
    }
}

/// Walks `data` (a whole JPEG file whose marker structure is complete).
pub fn coverage(data: &[u8]) -> Coverage {
    let mut dc: [Huffman; 4] = Default::default();
    let mut ac: [Huffman; 4] = Default::default();
    let mut components: Vec<Component> = Vec::new();
    let (mut width, mut height) = (0u32, 0u32);
    let mut progressive = false;
    let mut restart_interval = 0u32;
    let mut walked = false;
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return Coverage::Unchecked;
        }
        let marker = data[i + 1];
        i += 2;
        match marker {
            0xFF => {
                i -= 1; // a fill byte
                continue;
            }
            0xD9 => break,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([data[i], data[i + 1]]));
        let Some(segment) = data.get(i + 2..i + len) else {
            return Coverage::Unchecked;
        };
        match marker {
            0xC0..=0xC2 => {
                progressive = marker == 0xC2;
                if segment.len() < 6 {
                    return Coverage::Unchecked;
                }
                height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
                width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
                components = segment[6..]
                    .chunks_exact(3)
                    .take(usize::from(segment[5]))
                    .map(|c| Component {
                        id: c[0],
                        h: u32::from(c[1] >> 4).max(1),
                        v: u32::from(c[1] & 15).max(1),
                    })
                    .collect();
            }
            // Lossless, hierarchical or arithmetic coding: not walked.
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Coverage::Unchecked,
            0xC4 => {
                let mut s = segment;
                while s.len() >= 17 {
                    let (class, id) = (s[0] >> 4, usize::from(s[0] & 15));
                    let counts: [u8; 16] = s[1..17].try_into().unwrap_or([0; 16]);
                    let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let Some(values) = s.get(17..17 + total) else {
                        return Coverage::Unchecked;
                    };
                    if id > 3 {
                        return Coverage::Unchecked;
                    }
                    let table = Huffman::new(&counts, values);
                    if class == 0 {
                        dc[id] = table;
                    } else {
                        ac[id] = table;
                    }
                    s = &s[17 + total..];
                }
            }
            0xDD if segment.len() >= 2 => {
                restart_interval = u32::from(u16::from_be_bytes([segment[0], segment[1]]));
            }
            0xDA => {
                let start = i + len;
                let Some(scan) = Scan::parse(segment, &components) else {
                    return Coverage::Unchecked;
                };
                let walkable = !progressive || (scan.ss == 0 && scan.ah == 0);
                let end = if walkable && width > 0 && height > 0 {
                    let mut bits = Bits::new(data, start);
                    let result = walk_scan(
                        &mut bits,
                        &scan,
                        &components,
                        (width, height),
                        progressive,
                        restart_interval,
                        (&dc, &ac),
                    );
                    if result != Coverage::Complete {
                        return result;
                    }
                    walked = true;
                    bits.pos
                } else {
                    start
                };
                // Continue at the next marker after the entropy-coded data.
                i = next_marker(data, end.max(start));
                continue;
            }
            _ => {}
        }
        i += len;
    }
    if walked {
        Coverage::Complete
    } else {
        Coverage::Unchecked
    }
}

/// The position of the next marker other than a stuffed `FF 00` or a
/// restart marker, at or after `from`.
fn next_marker(data: &[u8], mut from: usize) -> usize {
    while from + 1 < data.len() {
        if data[from] == 0xFF && !matches!(data[from + 1], 0x00 | 0xD0..=0xD7 | 0xFF) {
            return from;
        }
        from += 1;
    }
    data.len()
}

struct Scan {
    /// (index into the frame's components, DC table, AC table).
    members: Vec<(usize, usize, usize)>,
    ss: u8,
    se: u8,
    ah: u8,
}

impl Scan {
    fn parse(segment: &[u8], components: &[Component]) -> Option<Scan> {
        let n = usize::from(*segment.first()?);
        let mut members = Vec::with_capacity(n);
        for k in 0..n {
            let id = *segment.get(1 + 2 * k)?;
            let tables = *segment.get(2 + 2 * k)?;
            let index = components.iter().position(|c| c.id == id)?;
            let (td, ta) = (usize::from(tables >> 4), usize::from(tables & 15));
            if td > 3 || ta > 3 {
                return None;
            }
            members.push((index, td, ta));
        }
        let rest = segment.get(1 + 2 * n..1 + 2 * n + 3)?;
        Some(Scan {
            members,
            ss: rest[0],
            se: rest[1],
            ah: rest[2] >> 4,
        })
    }
}

fn walk_scan(
    bits: &mut Bits<'_>,
    scan: &Scan,
    components: &[Component],
    (width, height): (u32, u32),
    progressive: bool,
    restart_interval: u32,
    (dc, ac): (&[Huffman; 4], &[Huffman; 4]),
) -> Coverage {
    let h_max = components.iter().map(|c| c.h).max().unwrap_or(1);
    let v_max = components.iter().map(|c| c.v).max().unwrap_or(1);
    // Blocks per unit, and units in the scan (JPEG standard, A.2).
    let (units, blocks_per_unit): (u64, Vec<(usize, usize, usize, u32)>) =
        if scan.members.len() == 1 {
            let (index, td, ta) = scan.members[0];
            let c = components[index];
            let cols = (width * c.h).div_ceil(h_max).div_ceil(8);
            let rows = (height * c.v).div_ceil(v_max).div_ceil(8);
            (u64::from(cols) * u64::from(rows), vec![(index, td, ta, 1)])
        } else {
            let cols = width.div_ceil(8 * h_max);
            let rows = height.div_ceil(8 * v_max);
            (
                u64::from(cols) * u64::from(rows),
                scan.members
                    .iter()
                    .map(|&(index, td, ta)| {
                        let c = components[index];
                        (index, td, ta, c.h * c.v)
                    })
                    .collect(),
            )
        };
    for &(_, td, ta, _) in &blocks_per_unit {
        if !dc[td].defined || (!progressive && !ac[ta].defined) {
            return Coverage::Unchecked;
        }
    }
    let dc_only = progressive; // walkable progressive scans are DC-first scans
    let last_ac = usize::from(scan.se.min(63));
    let mut decoded = 0u64;
    while decoded < units {
        if restart_interval > 0
            && decoded > 0
            && decoded.is_multiple_of(u64::from(restart_interval))
        {
            bits.restart();
        }
        let unit = (|| -> Result<(), Stop> {
            for &(_, td, ta, blocks) in &blocks_per_unit {
                for _ in 0..blocks {
                    let s = bits.decode(&dc[td])?;
                    bits.consume(u32::from(s))?;
                    if dc_only {
                        continue;
                    }
                    let mut k = 1;
                    while k <= last_ac {
                        let rs = bits.decode(&ac[ta])?;
                        let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
                        if s == 0 {
                            if r == 15 {
                                k += 16;
                                continue;
                            }
                            break; // end of block
                        }
                        k += r;
                        bits.consume(s)?;
                        k += 1;
                    }
                }
            }
            Ok(())
        })();
        match unit {
            Ok(()) => decoded += 1,
            // Encoders pad the last byte with 1 bits, never past it: running
            // out inside the very last unit is tolerated, earlier is not.
            Err(Stop::OutOfData) if decoded + 1 >= units => decoded = units,
            Err(Stop::OutOfData) => {
                return Coverage::EndsEarly {
                    decoded,
                    expected: units,
                };
            }
            Err(Stop::BadCode) => return Coverage::Corrupt,
        }
    }
    Coverage::Complete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    const GOOD: [&str; 12] = [
        "tests/fixtures/images/room_hotel_desk.jpg",
        "tests/fixtures/images/room_hotel_bed.jpg",
        "tests/fixtures/images/room_hotel_pano.jpg",
        "tests/fixtures/images/studio_dark_pano.jpg",
        "tests/fixtures/images/courtyard_pano.jpg",
        "tests/fixtures/images/coffee.jpg",
        "tests/fixtures/edge/progressive.jpg",
        "tests/fixtures/edge/grayscale.jpg",
        "tests/fixtures/edge/cmyk.jpg",
        "tests/fixtures/edge/exif_orientation6.jpg",
        "tests/fixtures/edge/tiny_1x1.jpg",
        "examples/rooms/studio_dark_pano.jpg",
    ];

    #[test]
    fn every_good_photo_is_covered() {
        for name in GOOD {
            let result = coverage(&fixture(name));
            assert_eq!(result, Coverage::Complete, "{name}");
        }
    }

    #[test]
    fn a_photo_cut_anywhere_with_a_fake_end_marker_ends_early() {
        for name in GOOD.iter().filter(|n| !n.contains("tiny")) {
            let full = fixture(name);
            let scan = full.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
            // From just after the first scan header to shortly before the end.
            for cut in (scan + 64..full.len() - 256).step_by((full.len() / 23).max(1)) {
                let mut data = full[..cut].to_vec();
                data.extend_from_slice(&[0xFF, 0xD9]);
                let result = coverage(&data);
                // A progressive file cut after its first (DC) scan keeps a
                // whole, if blurred, picture: only the DC scan is walked.
                assert!(
                    matches!(result, Coverage::EndsEarly { .. })
                        || (name.contains("progressive") && result == Coverage::Complete),
                    "{name} cut at {cut}: {result:?}"
                );
            }
        }
    }
}
