//! Website host names, as widgets, channels and browsers' origins name them.

use super::Invalid;

/// A website's host name: `example.com`, `shop.example.com`, `localhost`, `127.0.0.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Domain(String);

impl Domain {
    pub fn parse(field: &str, value: &str) -> Result<Domain, Invalid> {
        let host = value.trim().trim_end_matches('.').to_ascii_lowercase();
        let rule = "must be a host name like example.com";
        if host.is_empty() || host.len() > 253 {
            return Err(Invalid::new(field, rule));
        }
        let labels_ok = host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if labels_ok { Ok(Domain(host)) } else { Err(Invalid::new(field, rule)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_host_names_only() {
        assert_eq!(Domain::parse("d", "Shop.Example.com.").unwrap().as_str(), "shop.example.com");
        assert_eq!(Domain::parse("d", "localhost").unwrap().as_str(), "localhost");
        assert_eq!(Domain::parse("d", "127.0.0.1").unwrap().as_str(), "127.0.0.1");
        for bad in
            ["", "https://example.com", "example.com/path", "exa mple.com", "-a.com", "a..com", "example.com:8080"]
        {
            let err = Domain::parse("channelIdentifier", bad).unwrap_err();
            assert!(err.to_string().starts_with("channelIdentifier: "), "{bad}: {err}");
        }
    }
}
