//! Identifiers: refresh and request ids (UUIDs), EC2-shaped instance ids, activity ids.
//!
//! Instance and activity ids are hashes of the refresh id and the instance's place in it, so
//! they are stable across calls and reproducible from the simulator's seed.

/// FNV-1a over `bytes`.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A hash of a refresh id, a role (`b"new"`, `b"old"`, ...) and two numbers.
fn hash_of(refresh: &str, role: &[u8], a: u32, b: u32) -> u64 {
    fnv1a(
        refresh
            .bytes()
            .chain(role.iter().copied())
            .chain(a.to_le_bytes())
            .chain(b.to_le_bytes()),
    )
}

/// An EC2-shaped instance id (`i-` and 17 hex digits) for an instance of `refresh`: its
/// `role` and place (`a`, `b`).
pub(crate) fn instance_id(refresh: &str, role: &[u8], a: u32, b: u32) -> String {
    format!("i-0{:016x}", hash_of(refresh, role, a, b))
}

/// A UUID-shaped activity id for an activity of `refresh`.
pub(crate) fn activity_id(refresh: &str, role: &[u8], a: u32, b: u32) -> String {
    let high = hash_of(refresh, role, a, b);
    let low = fnv1a(high.to_le_bytes().into_iter().chain(role.iter().copied()));
    uuid_from((u128::from(high) << 64) | u128::from(low))
}

/// Format 128 random bits as a version-4, RFC 4122 variant UUID.
pub(crate) fn uuid_from(bits: u128) -> String {
    let bits = (bits & !(0xF_u128 << 76)) | (0x4_u128 << 76);
    let bits = (bits & !(0x3_u128 << 62)) | (0x2_u128 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let id = uuid_from(u128::MAX);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = uuid_from(0);
        assert_eq!(id, "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn instance_ids_are_ec2_shaped_and_stable() {
        let id = instance_id("r", b"new", 3, 0);
        assert_eq!(id.len(), 19);
        assert!(id.starts_with("i-0"));
        assert!(id[2..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(id, instance_id("r", b"new", 3, 0));
        assert_ne!(id, instance_id("r", b"new", 3, 1));
        assert_ne!(id, instance_id("r", b"old", 3, 0));
        assert_ne!(
            activity_id("r", b"launch", 1, 0),
            activity_id("r", b"launch", 2, 0)
        );
    }
}
