//! `GET /runbooks`: the alert runbooks (`docs/runbooks.md`, embedded at build time) as an HTML
//! page, so the `runbook_url` of every alert opens from Alertmanager or Grafana with no other
//! server: the rules link to `<runbook_base>#<alert name in lower case>`, and `runbook_base`
//! defaults to this page (deploy/prometheus/prometheus.yml, docs/monitoring.md).

use std::sync::OnceLock;

use axum::response::Html;

/// The runbooks as written.
const RUNBOOKS_MD: &str = include_str!("../../../../docs/runbooks.md");

/// Serves the page (rendered once).
pub async fn page() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(|| render(RUNBOOKS_MD)).as_str())
}

/// The anchor of a heading, as GitHub and `scripts/check-deploy` compute it.
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Inline code spans become `<code>`; everything else is escaped text.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(&escape(part));
            out.push_str("</code>");
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// A small Markdown subset: headings (with anchors), fenced code, list items and paragraphs.
pub fn render(markdown: &str) -> String {
    let mut body = String::new();
    let mut in_code = false;
    let mut in_list = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            body.push_str(if in_code { "</pre>\n" } else { "<pre>" });
            in_code = !in_code;
            continue;
        }
        if in_code {
            body.push_str(&escape(line));
            body.push('\n');
            continue;
        }
        let item = line.strip_prefix("* ").or_else(|| line.strip_prefix("- "));
        if in_list && item.is_none() && !line.starts_with("  ") {
            body.push_str("</ul>\n");
            in_list = false;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if (1..=4).contains(&level) && line[level..].starts_with(' ') {
            let title = &line[level + 1..];
            body.push_str(&format!(
                "<h{level} id=\"{}\">{}</h{level}>\n",
                anchor(title),
                inline(title)
            ));
        } else if let Some(item) = item {
            if !in_list {
                body.push_str("<ul>\n");
                in_list = true;
            }
            body.push_str(&format!("<li>{}\n", inline(item)));
        } else if line.trim().is_empty() {
            body.push_str("<p>\n");
        } else {
            body.push_str(&inline(line));
            body.push('\n');
        }
    }
    if in_list {
        body.push_str("</ul>\n");
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>zigquant alert runbooks</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:auto;line-height:1.4}}\
         pre{{background:#f4f4f4;padding:.5em;overflow-x:auto}}</style></head><body>\n{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_heading_gets_its_anchor_and_text_is_escaped() {
        let html =
            render("# T\n\n## ExchangeDisconnected\n\nsee `a<b` & co\n* one\n```sh\nx > y\n```\n");
        assert!(
            html.contains("<h2 id=\"exchangedisconnected\">ExchangeDisconnected</h2>"),
            "{html}"
        );
        assert!(html.contains("<code>a&lt;b</code> &amp; co"), "{html}");
        assert!(html.contains("<li>one"), "{html}");
        assert!(html.contains("<pre>x &gt; y\n</pre>"), "{html}");
        assert_eq!(
            anchor("Running the monitoring stack"),
            "running-the-monitoring-stack"
        );
    }

    #[test]
    fn the_shipped_runbooks_have_an_anchor_per_alert_section() {
        let html = render(RUNBOOKS_MD);
        for alert in ["zigquanttargetdown", "exchangedisconnected", "lowwinrate"] {
            assert!(html.contains(&format!("id=\"{alert}\"")), "{alert}");
        }
    }
}
