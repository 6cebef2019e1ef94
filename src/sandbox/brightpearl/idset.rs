//! ID sets (brightpearl-api.md §1.3, §1.4): `8`, `1,5,9`, `1000-1010`, mixtures, and `*`; the
//! compact rendering used by OPTIONS `getUris` and by batched webhook payloads.

/// One parsed ID set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSet {
    /// `*` or an omitted set: every id.
    All,
    /// Singles and ascending ranges, in request order.
    Parts(Vec<(u32, u32)>),
}

impl IdSet {
    /// Parse an ID set; an empty string means "all".
    pub fn parse(text: &str) -> Result<IdSet, String> {
        let text = text.trim();
        if text.is_empty() || text == "*" {
            return Ok(IdSet::All);
        }
        let mut parts = Vec::new();
        for piece in text.split(',') {
            let piece = piece.trim();
            let (low, high) = match piece.split_once('-') {
                Some((low, high)) => (parse_id(low, text)?, parse_id(high, text)?),
                None => {
                    let id = parse_id(piece, text)?;
                    (id, id)
                }
            };
            // Only ascending ranges exist (§1.3).
            if low > high {
                return Err(format!(
                    "invalid ID set '{text}': range {piece} is descending"
                ));
            }
            parts.push((low, high));
        }
        Ok(IdSet::Parts(parts))
    }

    /// An optional path segment: absent means "all".
    pub fn parse_opt(text: Option<&str>) -> Result<IdSet, String> {
        text.map_or(Ok(IdSet::All), IdSet::parse)
    }

    pub fn contains(&self, id: u32) -> bool {
        match self {
            IdSet::All => true,
            IdSet::Parts(parts) => parts.iter().any(|(low, high)| (*low..=*high).contains(&id)),
        }
    }

    /// How many ids the set names (for the per-resource caps); `None` for `*`.
    pub fn requested(&self) -> Option<u64> {
        match self {
            IdSet::All => None,
            IdSet::Parts(parts) => Some(
                parts
                    .iter()
                    .map(|(low, high)| u64::from(high - low) + 1)
                    .sum(),
            ),
        }
    }

    /// The existing ids this set names, ascending and without duplicates.
    pub fn select(&self, existing: impl IntoIterator<Item = u32>) -> Vec<u32> {
        let mut ids: Vec<u32> = existing
            .into_iter()
            .filter(|id| self.contains(*id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Ids named explicitly (ranges expanded), for resources that 404 on unknown ids.
    pub fn explicit(&self) -> Vec<u32> {
        match self {
            IdSet::All => Vec::new(),
            IdSet::Parts(parts) => parts.iter().flat_map(|(low, high)| *low..=*high).collect(),
        }
    }
}

fn parse_id(text: &str, whole: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(format!("invalid ID set '{whole}'")),
    }
}

/// Render ascending ids compactly: `1-2,5,8,10-41`.
pub fn compress(ids: &[u32]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut index = 0;
    while index < sorted.len() {
        let start = sorted[index];
        let mut end = start;
        while index + 1 < sorted.len() && sorted[index + 1] == end + 1 {
            index += 1;
            end = sorted[index];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        index += 1;
    }
    out.join(",")
}

/// OPTIONS `getUris`: existing ids in chunks of `chunk`, each as `/{resource}/{id-set}` (§1.4).
pub fn get_uris(resource: &str, ids: &[u32], chunk: usize) -> Vec<String> {
    ids.chunks(chunk.max(1))
        .map(|chunk| format!("/{resource}/{}", compress(chunk)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let check = |input: &str, inside: &[u32], outside: &[u32]| {
            let set = IdSet::parse(input).unwrap();
            for id in inside {
                assert!(set.contains(*id), "{input} should contain {id}");
            }
            for id in outside {
                assert!(!set.contains(*id), "{input} should not contain {id}");
            }
        };
        check("8", &[8], &[7, 9]);
        check("1,5,9", &[1, 5, 9], &[2, 6]);
        check("1000-1010", &[1000, 1005, 1010], &[999, 1011]);
        check("34-40,120,1000-1010", &[34, 40, 120, 1001], &[41, 121]);
        check("*", &[1, 99_999], &[]);
        assert!(IdSet::parse("10-5").is_err());
        assert!(IdSet::parse("a").is_err());
        assert!(IdSet::parse("0").is_err());
        assert_eq!(IdSet::parse("1-100,320").unwrap().requested(), Some(101));
    }

    #[test]
    fn compresses_like_the_options_example() {
        assert_eq!(
            compress(&[1, 2, 5, 8, 10, 11, 12, 320, 321]),
            "1-2,5,8,10-12,320-321"
        );
        let ids: Vec<u32> = (1..=450).collect();
        assert_eq!(
            get_uris("order", &ids, 200),
            vec!["/order/1-200", "/order/201-400", "/order/401-450"]
        );
    }
}
