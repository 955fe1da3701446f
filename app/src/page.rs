//! Which page a URL shows, and its query: the same answer on the server (the request
//! being rendered) and in the browser (its address bar), so the browser hydrates the
//! page the server rendered.
//!
//! Each page is a whole document: a link to another page, or to the same page with
//! another query, is loaded from the server. So the wasm carries no client-side router
//! (leptos_router's matching, history and link interception were about a tenth of the
//! dashboard's module: docs/wasm-size.md, session 15); the server answers exactly the
//! paths listed here (`server/src/lib.rs`, `route_list`).

/// A page of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Dashboard,
    Analysis,
    Login,
    Admin,
    /// Any other path: a 404 page.
    NotFound,
}

/// Every page's path. The server registers these, and nothing else, as pages.
pub const PATHS: &[(&str, Page)] = &[
    ("/", Page::Dashboard),
    ("/dashboard", Page::Dashboard),
    ("/analysis", Page::Analysis),
    ("/login", Page::Login),
    ("/admin", Page::Admin),
];

impl Page {
    /// The page at `path` (a trailing slash is ignored).
    pub fn at(path: &str) -> Page {
        let path = match path.trim_end_matches('/') {
            "" => "/",
            p => p,
        };
        PATHS
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(Page::NotFound, |(_, page)| *page)
    }

    /// The page being shown.
    pub fn current() -> Page {
        Page::at(&location().0)
    }
}

/// The path and the query (without `?`) of the URL being shown.
fn location() -> (String, String) {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()
            .map(|parts| {
                let uri = &parts.uri;
                (
                    uri.path().to_string(),
                    uri.query().unwrap_or_default().to_string(),
                )
            })
            .unwrap_or_else(|| ("/".into(), String::new()))
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let l = leptos::prelude::window().location();
        let query = l.search().unwrap_or_default();
        (
            l.pathname().unwrap_or_default(),
            query.trim_start_matches('?').to_string(),
        )
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        ("/".into(), String::new())
    }
}

/// A URL's query, decoded (`lookout::form`), its pairs in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// The query of the URL being shown.
    pub fn current() -> Query {
        Query::parse(&location().1)
    }

    pub fn parse(query: &str) -> Query {
        Query(lookout::form::pairs(query))
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Every value of `key`, in order.
    pub fn get_all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_pages_and_others_are_not_found() {
        assert_eq!(Page::at("/"), Page::Dashboard);
        assert_eq!(Page::at(""), Page::Dashboard);
        assert_eq!(Page::at("/dashboard"), Page::Dashboard);
        assert_eq!(Page::at("/analysis/"), Page::Analysis);
        assert_eq!(Page::at("/login"), Page::Login);
        assert_eq!(Page::at("/admin"), Page::Admin);
        assert_eq!(Page::at("/admin/x"), Page::NotFound);
        assert_eq!(Page::at("/nope"), Page::NotFound);
    }

    #[test]
    fn a_query_is_decoded_in_order() {
        let q = Query::parse("compare=cpu_usage%2Cmemory_usage&host=web+1&compare=load_1&pair=&x");
        assert_eq!(q.get("host").as_deref(), Some("web 1"));
        assert_eq!(q.get_all("compare"), ["cpu_usage,memory_usage", "load_1"]);
        assert_eq!(q.get("pair").as_deref(), Some(""));
        assert_eq!(q.get("x").as_deref(), Some(""));
        assert_eq!(q.get("missing"), None);
        assert_eq!(Query::parse(""), Query::default());
    }
}
