//! Files that keep their name: the name travels sealed inside the envelope, never in the clear.
//!
//! An envelope whose content type is [`NAMED_FILE_TYPE`] holds, as plaintext, one line of JSON
//! `{"content_type":"<media type>","name":"<file name>"}` (exactly these two keys, in this
//! order, no spaces), a newline, then the file's bytes. The outer content type tells a reader
//! to unpack; the vault sees only that "a named file" is stored, not its name or type.

use super::DomainError;
use super::catalog::{check_content_type, is_plain_text_char};
use serde::{Deserialize, Serialize};

/// The envelope content type of a named file.
pub const NAMED_FILE_TYPE: &str = "application/vnd.assent.file";
/// Longest file name kept, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 255;
/// Longest header line read before giving up (the two fields and their quoting).
const MAX_HEADER: usize = 2048;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    content_type: String,
    name: String,
}

/// A file with its name and media type.
pub struct NamedFile<'a> {
    pub name: String,
    pub content_type: String,
    pub bytes: &'a [u8],
}

fn bad(why: &str) -> DomainError {
    DomainError::invalid("bad_named_file", format!("named file: {why}"))
}

/// A file name a person can read and a download can use: 1–255 bytes, no control or format
/// characters, no path separators.
pub fn check_name(name: &str) -> Result<(), DomainError> {
    if name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name.contains(['/', '\\'])
        || !name.chars().all(|c| is_plain_text_char(c, false))
    {
        return Err(bad(
            "the name must be 1–255 bytes without control characters or path separators",
        ));
    }
    Ok(())
}

/// The plaintext to seal for `bytes` named `name` of type `content_type`.
pub fn pack(name: &str, content_type: &str, bytes: &[u8]) -> Result<Vec<u8>, DomainError> {
    check_name(name)?;
    check_content_type(content_type)?;
    let header = serde_json::to_vec(&Header {
        content_type: content_type.to_owned(),
        name: name.to_owned(),
    })
    .map_err(|e| bad(&e.to_string()))?;
    let mut out = Vec::with_capacity(header.len() + 1 + bytes.len());
    out.extend_from_slice(&header);
    out.push(b'\n');
    out.extend_from_slice(bytes);
    Ok(out)
}

/// Unpacks an opened named file, checking its header as [`pack`] writes it.
pub fn unpack(plaintext: &[u8]) -> Result<NamedFile<'_>, DomainError> {
    let end = plaintext
        .iter()
        .take(MAX_HEADER)
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad("no header line"))?;
    let header: Header =
        serde_json::from_slice(&plaintext[..end]).map_err(|_| bad("the header is not valid"))?;
    check_name(&header.name)?;
    check_content_type(&header.content_type)?;
    Ok(NamedFile {
        name: header.name,
        content_type: header.content_type,
        bytes: &plaintext[end + 1..],
    })
}

/// What an opened envelope holds: its file name (named files only), media type and bytes.
pub fn contents<'a>(
    content_type: &str,
    plaintext: &'a [u8],
) -> Result<(Option<String>, String, &'a [u8]), DomainError> {
    if content_type == NAMED_FILE_TYPE {
        let f = unpack(plaintext)?;
        Ok((Some(f.name), f.content_type, f.bytes))
    } else {
        Ok((None, content_type.to_owned(), plaintext))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_file_unpacks_to_its_name_type_and_bytes() {
        let packed = pack("scan 1.pdf", "application/pdf", b"%PDF\n\x00\x01").unwrap();
        assert!(
            packed.starts_with(b"{\"content_type\":\"application/pdf\",\"name\":\"scan 1.pdf\"}\n")
        );
        let f = unpack(&packed).unwrap();
        assert_eq!(
            (f.name.as_str(), f.content_type.as_str(), f.bytes),
            ("scan 1.pdf", "application/pdf", &b"%PDF\n\x00\x01"[..])
        );
    }

    #[test]
    fn bad_names_and_headers_are_refused() {
        for name in ["", "a/b", "..\\x", "evil\u{202e}fdp.exe", "line\nbreak"] {
            assert!(pack(name, "text/plain", b"x").is_err(), "{name:?}");
        }
        assert!(pack(&"n".repeat(256), "text/plain", b"x").is_err());
        assert!(pack("a.txt", "not a type", b"x").is_err());
        for plain in [
            &b"no newline"[..],
            b"{\"name\":\"a\"}\nx",
            b"{\"content_type\":\"text/plain\",\"name\":\"a\",\"x\":1}\nx",
            b"[]\nx",
        ] {
            assert!(unpack(plain).is_err(), "{plain:?}");
        }
    }
}
