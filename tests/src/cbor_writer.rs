//! A small CBOR writer for hand-made test inputs, canonical or not.

/// A small CBOR writer for hand-made test inputs, canonical or not.
#[derive(Default)]
pub struct Cbor(
    /// The bytes written so far.
    pub Vec<u8>,
);

impl Cbor {
    /// A head in shortest form.
    pub fn head(mut self, major: u8, arg: u64) -> Self {
        let m = major << 5;
        match arg {
            0..=23 => self.0.push(m | arg as u8),
            24..=0xff => self.0.extend([m | 24, arg as u8]),
            0x100..=0xffff => {
                self.0.push(m | 25);
                self.0.extend((arg as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.0.push(m | 26);
                self.0.extend((arg as u32).to_be_bytes());
            }
            _ => {
                self.0.push(m | 27);
                self.0.extend(arg.to_be_bytes());
            }
        }
        self
    }
    /// An unsigned integer.
    pub fn uint(self, n: u64) -> Self {
        self.head(0, n)
    }
    /// A byte string.
    pub fn bytes(self, b: &[u8]) -> Self {
        let mut s = self.head(2, b.len() as u64);
        s.0.extend_from_slice(b);
        s
    }
    /// A text string.
    pub fn text(self, t: &str) -> Self {
        let mut s = self.head(3, t.len() as u64);
        s.0.extend_from_slice(t.as_bytes());
        s
    }
    /// An array head.
    pub fn array(self, len: u64) -> Self {
        self.head(4, len)
    }
    /// A map head.
    pub fn map(self, len: u64) -> Self {
        self.head(5, len)
    }
    /// Raw bytes, as they are.
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
}
