"""Turning a body into HTML that is safe on a phone: Markdown rendered, every HTML sanitized by nh3."""
import nh3
from markdown_it import MarkdownIt

# Raw HTML inside Markdown is kept and then sanitized with the rest, so authors may paste formatted text.
_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "em", "figcaption", "figure", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul", "video", "source",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
    "video": {"src", "poster", "controls", "width", "height"}, "source": {"src", "type"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
}


def sanitize(html):
    """Return html with scripts, event handlers and unsafe URLs removed."""
    return nh3.clean(html or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def render_body(body, body_format):
    """Return the safe HTML to store for a body given as 'markdown' or 'html'."""
    if body_format == "markdown":
        return sanitize(_markdown.render(body or ""))
    return sanitize(body)
