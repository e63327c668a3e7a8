//! The packet layer: parse and build the two packet kinds (see the module
//! docs of [`crate::carousel`] for the byte layout).

use std::fmt;

/// Packet format version carried in the high nibble of byte 0.
pub const VERSION: u8 = 1;
/// Kind (low nibble of byte 0): one RaptorQ encoding symbol.
pub const KIND_DATA: u8 = 1;
/// Kind (low nibble of byte 0): one fragment of the signed manifest.
pub const KIND_MANIFEST: u8 = 2;
/// Header bytes of a data packet before the symbol.
pub const DATA_HEADER_LEN: usize = 10;
/// Header bytes of a manifest packet before the fragment.
pub const MANIFEST_HEADER_LEN: usize = 13;
/// Trailing CRC-16 bytes on every packet.
pub const CRC_LEN: usize = 2;
/// Total per-packet overhead of a data packet (header + CRC).
pub const DATA_OVERHEAD: usize = DATA_HEADER_LEN + CRC_LEN;
/// Smallest payload size the carousel accepts.
pub const MIN_PAYLOAD: usize = 32;
/// Largest payload size the carousel accepts.
pub const MAX_PAYLOAD: usize = 8192;
/// Largest encoding symbol id: the ESI field is 24 bits (RFC 6330).
pub const MAX_ESI: u32 = (1 << 24) - 1;

/// The 4-byte id that ties every packet to one signed manifest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BroadcastId(pub [u8; 4]);

impl fmt::Display for BroadcastId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Why a packet was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("packet of {0} bytes is shorter than the smallest packet")]
    TooShort(usize),
    #[error("packet of {0} bytes is longer than the largest payload")]
    TooLong(usize),
    #[error("packet CRC-16 does not match")]
    BadCrc,
    #[error("unknown packet version {0}")]
    UnknownVersion(u8),
    #[error("unknown packet kind {0}")]
    UnknownKind(u8),
    #[error("manifest fragment {index} of {count} is out of range")]
    BadFragment { index: u16, count: u16 },
}

/// One RaptorQ encoding symbol of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataPacket<'a> {
    pub broadcast: BroadcastId,
    pub file: u8,
    pub sbn: u8,
    pub esi: u32,
    pub symbol: &'a [u8],
}

/// One fragment of the signed manifest blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManifestPacket<'a> {
    pub broadcast: BroadcastId,
    /// First 4 bytes of BLAKE3 of the unpadded signed manifest blob.
    pub digest: [u8; 4],
    pub index: u16,
    pub count: u16,
    pub chunk: &'a [u8],
}

/// A parsed packet borrowing from the input bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    Data(DataPacket<'a>),
    Manifest(ManifestPacket<'a>),
}

impl Packet<'_> {
    /// The broadcast this packet belongs to.
    pub fn broadcast(&self) -> BroadcastId {
        match self {
            Packet::Data(d) => d.broadcast,
            Packet::Manifest(m) => m.broadcast,
        }
    }
}

/// CRC-16/IBM-3740 (CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection).
pub fn crc16(data: &[u8]) -> u16 {
    const TABLE: [u16; 256] = {
        let mut t = [0u16; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = (i as u16) << 8;
            let mut j = 0;
            while j < 8 {
                c = if c & 0x8000 != 0 {
                    (c << 1) ^ 0x1021
                } else {
                    c << 1
                };
                j += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc = (crc << 8) ^ TABLE[((crc >> 8) as u8 ^ b) as usize];
    }
    crc
}

fn seal(mut v: Vec<u8>) -> Vec<u8> {
    let c = crc16(&v);
    v.extend_from_slice(&c.to_be_bytes());
    v
}

impl DataPacket<'_> {
    /// Serialise: header, symbol, CRC-16. Length = `DATA_OVERHEAD + symbol.len()`.
    pub fn encode(&self) -> Vec<u8> {
        debug_assert!(self.esi <= MAX_ESI);
        let mut v = Vec::with_capacity(DATA_OVERHEAD + self.symbol.len());
        v.push((VERSION << 4) | KIND_DATA);
        v.extend_from_slice(&self.broadcast.0);
        v.push(self.file);
        v.push(self.sbn);
        v.extend_from_slice(&self.esi.to_be_bytes()[1..]);
        v.extend_from_slice(self.symbol);
        seal(v)
    }
}

impl ManifestPacket<'_> {
    /// Serialise: header, chunk, CRC-16.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(MANIFEST_HEADER_LEN + CRC_LEN + self.chunk.len());
        v.push((VERSION << 4) | KIND_MANIFEST);
        v.extend_from_slice(&self.broadcast.0);
        v.extend_from_slice(&self.digest);
        v.extend_from_slice(&self.index.to_be_bytes());
        v.extend_from_slice(&self.count.to_be_bytes());
        v.extend_from_slice(self.chunk);
        seal(v)
    }
}

/// Parse one modem payload. Never panics; every refusal has a reason.
pub fn parse(bytes: &[u8]) -> Result<Packet<'_>, PacketError> {
    if bytes.len() < MIN_PAYLOAD {
        return Err(PacketError::TooShort(bytes.len()));
    }
    if bytes.len() > MAX_PAYLOAD {
        return Err(PacketError::TooLong(bytes.len()));
    }
    let (body, crc) = bytes.split_at(bytes.len() - CRC_LEN);
    if crc16(body).to_be_bytes() != crc {
        return Err(PacketError::BadCrc);
    }
    let version = body[0] >> 4;
    if version != VERSION {
        return Err(PacketError::UnknownVersion(version));
    }
    let broadcast = BroadcastId([body[1], body[2], body[3], body[4]]);
    match body[0] & 0x0F {
        KIND_DATA => Ok(Packet::Data(DataPacket {
            broadcast,
            file: body[5],
            sbn: body[6],
            esi: u32::from_be_bytes([0, body[7], body[8], body[9]]),
            symbol: &body[DATA_HEADER_LEN..],
        })),
        KIND_MANIFEST => {
            let index = u16::from_be_bytes([body[9], body[10]]);
            let count = u16::from_be_bytes([body[11], body[12]]);
            if count == 0 || index >= count {
                return Err(PacketError::BadFragment { index, count });
            }
            Ok(Packet::Manifest(ManifestPacket {
                broadcast,
                digest: [body[5], body[6], body[7], body[8]],
                index,
                count,
                chunk: &body[MANIFEST_HEADER_LEN..],
            }))
        }
        k => Err(PacketError::UnknownKind(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        // The catalogue check value of CRC-16/IBM-3740.
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn data_round_trip() {
        let sym = [7u8; 52];
        let p = DataPacket {
            broadcast: BroadcastId([1, 2, 3, 4]),
            file: 9,
            sbn: 2,
            esi: 0x12_3456,
            symbol: &sym,
        };
        let b = p.encode();
        assert_eq!(b.len(), 64);
        assert_eq!(parse(&b), Ok(Packet::Data(p)));
        let mut bad = b.clone();
        bad[20] ^= 1;
        assert_eq!(parse(&bad), Err(PacketError::BadCrc));
    }
}
