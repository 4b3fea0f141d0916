//! What a preview shows of a page, read from its HTML with a browser-grade parser (`scraper`,
//! html5ever): the Open Graph title, description, site name and image, or the `<title>` and
//! `<meta name="description">` where those are missing. Pure: tested without the network.

use scraper::{Html, Selector};

/// Characters of a title kept.
const TITLE_CHARS: usize = 200;
/// Characters of a description kept.
const DESCRIPTION_CHARS: usize = 300;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    pub description: String,
    pub site: String,
    /// The image's absolute URL, if the page names one.
    pub image: Option<url::Url>,
}

/// Reads `html`, fetched from `base` (relative image URLs are resolved against it).
pub fn read(html: &str, base: &url::Url) -> Page {
    let document = Html::parse_document(html);
    let meta = |keys: &[&str]| -> Option<String> {
        keys.iter().find_map(|key| {
            let selector =
                Selector::parse(&format!("meta[property=\"{key}\"], meta[name=\"{key}\"]")).ok()?;
            document
                .select(&selector)
                .filter_map(|e| e.value().attr("content"))
                .map(clean)
                .find(|text| !text.is_empty())
        })
    };
    let title = meta(&["og:title", "twitter:title"]).or_else(|| {
        let selector = Selector::parse("title").ok()?;
        document
            .select(&selector)
            .map(|e| clean(&e.text().collect::<String>()))
            .find(|text| !text.is_empty())
    });
    let description = meta(&["og:description", "twitter:description", "description"]);
    let site = meta(&["og:site_name"]).or_else(|| {
        base.host_str()
            .map(|h| h.trim_start_matches("www.").to_owned())
    });
    let image = meta(&["og:image", "og:image:url", "twitter:image"])
        .and_then(|found| base.join(&found).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"));
    Page {
        title: cut(title.unwrap_or_default(), TITLE_CHARS),
        description: cut(description.unwrap_or_default(), DESCRIPTION_CHARS),
        site: cut(site.unwrap_or_default(), TITLE_CHARS),
        image,
    }
}

/// One line of plain text: whitespace runs become one space, control characters go.
fn clean(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() && !shared::limits::is_direction_override(*c))
        .collect()
}

fn cut(text: String, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", text[..at].trim_end()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://www.example.org/posts/1").unwrap()
    }

    #[test]
    fn open_graph_tags_come_first() {
        let page = read(
            r#"<html><head><title>Plain title</title>
               <meta property="og:title" content="  The   real
                 title ">
               <meta name="description" content="Short">
               <meta property="og:description" content="Longer words">
               <meta property="og:site_name" content="Example">
               <meta property="og:image" content="/img/cover.png"></head></html>"#,
            &base(),
        );
        assert_eq!(
            page,
            Page {
                title: "The real title".into(),
                description: "Longer words".into(),
                site: "Example".into(),
                image: Some(url::Url::parse("https://www.example.org/img/cover.png").unwrap()),
            }
        );
    }

    #[test]
    fn plain_pages_give_their_title_and_host() {
        let page = read(
            "<title>Hello\u{202e} there</title><meta name=description content='A page'>",
            &base(),
        );
        assert_eq!(page.title, "Hello there");
        assert_eq!(page.description, "A page");
        assert_eq!(page.site, "example.org");
        assert_eq!(page.image, None);
        // Scripts and images with other schemes are ignored; long text is cut.
        let long = "x".repeat(500);
        let page = read(
            &format!("<meta property=og:image content='javascript:alert(1)'><title>{long}</title>"),
            &base(),
        );
        assert_eq!(page.image, None);
        assert_eq!(page.title.chars().count(), TITLE_CHARS + 1);
    }
}
