//! The inbox's addresses: `/inbox` is the list, `/inbox/c/{id}` a
//! conversation (the server answers both with the app's page).

/// Where the app serves itself.
pub const BASE: &str = "/inbox";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    List,
    Conversation(String),
}

impl Route {
    /// The route of a location's path; anything unknown is the list.
    pub fn parse(path: &str) -> Route {
        let rest = path.strip_prefix(BASE).unwrap_or("");
        match rest.strip_prefix("/c/").map(|id| id.trim_end_matches('/')) {
            Some(id) if !id.is_empty() && !id.contains('/') => Route::Conversation(id.to_owned()),
            _ => Route::List,
        }
    }

    pub fn path(&self) -> String {
        match self {
            Route::List => BASE.to_owned(),
            Route::Conversation(id) => format!("{BASE}/c/{id}"),
        }
    }

    pub fn conversation(&self) -> Option<&str> {
        match self {
            Route::Conversation(id) => Some(id),
            Route::List => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for route in [Route::List, Route::Conversation("conv_1".into())] {
            assert_eq!(Route::parse(&route.path()), route);
        }
        assert_eq!(Route::parse("/inbox/"), Route::List);
        assert_eq!(Route::parse("/inbox/c/conv_1/"), Route::Conversation("conv_1".into()));
        assert_eq!(Route::parse("/inbox/c/"), Route::List);
        assert_eq!(Route::parse("/inbox/c/a/b"), Route::List);
        assert_eq!(Route::parse("/elsewhere"), Route::List);
    }
}
