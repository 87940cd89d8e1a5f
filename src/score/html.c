/*
 * html.c - HTML to text as SpamAssassin 4.0.1 renders it (HTML.pm on top
 * of HTML::Parser 3.x), and the facts its HTML eval tests read.
 *
 * The tokenizer follows HTML::Parser's default (non-strict) mode: tags
 * start with "<" and a letter, comments run to the first "-->", script,
 * style, xmp and plaintext are literal (no markup, no entities inside),
 * textarea is literal with entities, unterminated markup at the end is
 * text. On top of it the rendering rules of HTML.pm: block elements emit
 * "\n", " " or "\n\n" and eat one trailing space of the text before,
 * text runs collapse whitespace, invisible text (same colours, tiny
 * fonts, display:none) is still rendered (body rules see it) but changes
 * how whitespace joins. Known differences: Perl's hash order decides
 * min/max font size when one tag has several sized attributes, and the
 * entity table is HTML 4's Latin-1 set plus the common symbols, not all
 * 2,000 HTML5 names.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "score-int.h"

#define HTML_MAX_STYLE		512	/* text_style stack depth kept */
#define HTML_MAX_ATTRS		64	/* attributes of one tag kept */
#define HTML_MAX_TAGNAME	64	/* bytes of a tag name kept */
#define HTML_MAX_URI		8192	/* MAX_URI_LENGTH in Constants.pm */
#define HTML_MAX_TITLE		4096	/* bytes of title text kept */
#define HTML_MAX_ANCHOR_TEXT	1024	/* bytes of one anchor's text kept */
#define HTML_MAX_END_CLOSE	16	/* </style> </script> appended at eof */

/* Flags of one rendered text piece (HTML.pm's text_* bit vectors). */
#define PIECE_WS	0x1
#define PIECE_INV	0x2

struct style {
	char tag[16];
	char fg[16], bg[16];
	int size;
	char display[16], visibility[16];
};

struct attr {
	char name[32];
	const char *val;	/* decoded, NUL-terminated, arena */
};

struct hstate {
	struct arena *a;
	struct buf *out;
	struct sm_html *h;
	size_t out_base;	/* where this document's text starts in out */
	size_t last_start;	/* start of the last text piece */
	unsigned last_flags;
	int have_last;
	struct style st[HTML_MAX_STYLE];
	size_t nst;
	int basefont;
	struct buf title, anchor, charsets;
	int title_idx, have_anchor;
	const char *base_href;
	const char *anchor_last;
	size_t cap_uris, cap_anchor, cap_tag;
	uint64_t backhair[8];	/* bit (a*8+b): key "a_b" seen */
};

/* ---- small helpers ---- */

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Perl's \s on bytes (ASCII whitespace, with \v since 5.18). */
static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* HTML::Parser name characters. */
static int
is_namechar(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == ':' ||
	    c == '.' || c == '-';
}

/* A "word" character in HTML.pm's obfuscation tests: not whitespace and
 * not ASCII punctuation (\x21-\x2f \x3a-\x40 \x5b-\x60 \x7b-\x7e). */
static int
is_wordish(int c)
{
	if (is_space(c))
		return 0;
	if ((c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) ||
	    (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e))
		return 0;
	return 1;
}

static int
streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (streq(s, *list))
			return 1;
	return 0;
}

static const char *const elements[] = {
	"a", "abbr", "acronym", "address", "area", "b", "base", "bdo", "big",
	"blockquote", "body", "br", "button", "caption", "cite", "code",
	"col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em",
	"fieldset", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr",
	"html", "i", "img", "input", "ins", "kbd", "label", "legend", "li",
	"link", "map", "meta", "noscript", "object", "ol", "optgroup",
	"option", "p", "param", "pre", "q", "samp", "script", "select",
	"small", "span", "strong", "style", "sub", "sup", "table", "tbody",
	"td", "textarea", "tfoot", "th", "thead", "title", "tr", "tt", "ul",
	"var", "applet", "basefont", "center", "dir", "font", "frame",
	"frameset", "iframe", "isindex", "menu", "noframes", "s", "strike",
	"u", "nobr", "x-sigsep", "x-tab", NULL
};
static const char *const tricks[] = {
	"bgsound", "embed", "listing", "plaintext", "xmp", NULL
};
static const char *const text_style_tags[] = {
	"body", "font", "table", "tr", "th", "td", "big", "small", "basefont",
	"marquee", "span", "p", "div", "a", NULL
};
static const char *const ws_tags[] = {
	"br", "div", "li", "th", "td", "dt", "dd", "p", "hr", "blockquote",
	"pre", "embed", "listing", "plaintext", "xmp", "title", "h1", "h2",
	"h3", "h4", "h5", "h6", NULL
};
static const char *const uri_tags[] = {
	"body", "table", "tr", "td", "a", "area", "link", "img", "frame",
	"iframe", "embed", "script", "form", "base", "bgsound", "meta", NULL
};

/* ok_attributes of HTML.pm: which attributes change the text style. */
static int
ok_attribute(const char *tag, const char *name)
{
	if (streq(tag, "basefont") || streq(tag, "font"))
		return streq(name, "color") || streq(name, "face") ||
		    streq(name, "size");
	if (streq(tag, "body"))
		return streq(name, "text") || streq(name, "bgcolor") ||
		    streq(name, "link") || streq(name, "alink") ||
		    streq(name, "vlink") || streq(name, "background");
	if (streq(tag, "marquee"))
		return streq(name, "bgcolor") || streq(name, "background");
	if (streq(tag, "table") || streq(tag, "td") || streq(tag, "th") ||
	    streq(tag, "tr"))
		return streq(name, "bgcolor") || streq(name, "style");
	if (streq(tag, "span") || streq(tag, "p") || streq(tag, "div") ||
	    streq(tag, "a"))
		return streq(name, "style");
	return 0;
}

/* ---- entities (HTML::Parser's decode_entities) ---- */

struct entity {
	const char *name;
	unsigned cp;
};

/* Sorted by name (strcmp) for bsearch. */
static const struct entity entities[] = {
	{ "AElig", 198 }, { "Aacute", 193 }, { "Acirc", 194 },
	{ "Agrave", 192 }, { "Aring", 197 }, { "Atilde", 195 },
	{ "Auml", 196 }, { "Ccedil", 199 }, { "Dagger", 8225 },
	{ "ETH", 208 }, { "Eacute", 201 }, { "Ecirc", 202 },
	{ "Egrave", 200 }, { "Euml", 203 }, { "Iacute", 205 },
	{ "Icirc", 206 }, { "Igrave", 204 }, { "Iuml", 207 },
	{ "Ntilde", 209 }, { "OElig", 338 }, { "Oacute", 211 },
	{ "Ocirc", 212 }, { "Ograve", 210 }, { "Oslash", 216 },
	{ "Otilde", 213 }, { "Ouml", 214 }, { "Prime", 8243 },
	{ "Scaron", 352 }, { "THORN", 222 }, { "Uacute", 218 },
	{ "Ucirc", 219 }, { "Ugrave", 217 }, { "Uuml", 220 },
	{ "Yacute", 221 }, { "Yuml", 376 }, { "aacute", 225 },
	{ "acirc", 226 }, { "acute", 180 }, { "aelig", 230 },
	{ "agrave", 224 }, { "amp", 38 }, { "apos", 39 }, { "aring", 229 },
	{ "atilde", 227 }, { "auml", 228 }, { "bdquo", 8222 },
	{ "brvbar", 166 }, { "bull", 8226 }, { "ccedil", 231 },
	{ "cedil", 184 }, { "cent", 162 }, { "circ", 710 },
	{ "clubs", 9827 }, { "copy", 169 }, { "curren", 164 },
	{ "dagger", 8224 }, { "darr", 8595 }, { "deg", 176 },
	{ "diams", 9830 }, { "divide", 247 }, { "eacute", 233 },
	{ "ecirc", 234 }, { "egrave", 232 }, { "emsp", 8195 },
	{ "ensp", 8194 }, { "eth", 240 }, { "euml", 235 }, { "euro", 8364 },
	{ "fnof", 402 }, { "frac12", 189 }, { "frac14", 188 },
	{ "frac34", 190 }, { "frasl", 8260 }, { "gt", 62 },
	{ "harr", 8596 }, { "hearts", 9829 }, { "hellip", 8230 },
	{ "iacute", 237 }, { "icirc", 238 }, { "iexcl", 161 },
	{ "igrave", 236 }, { "iquest", 191 }, { "iuml", 239 },
	{ "laquo", 171 }, { "larr", 8592 }, { "ldquo", 8220 },
	{ "lrm", 8206 }, { "lsaquo", 8249 }, { "lsquo", 8216 }, { "lt", 60 },
	{ "macr", 175 }, { "mdash", 8212 }, { "micro", 181 },
	{ "middot", 183 }, { "nbsp", 160 }, { "ndash", 8211 }, { "not", 172 },
	{ "ntilde", 241 }, { "oacute", 243 }, { "ocirc", 244 },
	{ "oelig", 339 }, { "ograve", 242 }, { "oline", 8254 },
	{ "ordf", 170 }, { "ordm", 186 }, { "oslash", 248 },
	{ "otilde", 245 }, { "ouml", 246 }, { "para", 182 },
	{ "permil", 8240 }, { "plusmn", 177 }, { "pound", 163 },
	{ "prime", 8242 }, { "quot", 34 }, { "raquo", 187 },
	{ "rarr", 8594 }, { "rdquo", 8221 }, { "reg", 174 }, { "rlm", 8207 },
	{ "rsaquo", 8250 }, { "rsquo", 8217 }, { "sbquo", 8218 },
	{ "scaron", 353 }, { "sect", 167 }, { "shy", 173 },
	{ "spades", 9824 }, { "sup1", 185 }, { "sup2", 178 },
	{ "sup3", 179 }, { "szlig", 223 }, { "thinsp", 8201 },
	{ "thorn", 254 }, { "tilde", 732 }, { "times", 215 },
	{ "trade", 8482 }, { "uacute", 250 }, { "uarr", 8593 },
	{ "ucirc", 251 }, { "ugrave", 249 }, { "uml", 168 },
	{ "uuml", 252 }, { "yacute", 253 }, { "yen", 165 }, { "yuml", 255 },
	{ "zwj", 8205 }, { "zwnj", 8204 },
};

static int
entity_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct entity *)e)->name);
}

static void
put_utf8(struct buf *b, unsigned cp)
{
	if (cp < 0x80)
		buf_addc(b, (int)cp);
	else if (cp < 0x800) {
		buf_addc(b, (int)(0xc0 | (cp >> 6)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (int)(0xe0 | (cp >> 12)));
		buf_addc(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (int)(0xf0 | (cp >> 18)));
		buf_addc(b, (int)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	}
}

/* Append p decoded: &name; &name (before a non-name char), &#N; &#xH;.
 * Unknown or invalid references stay as written. */
static void
decode_entities(struct buf *out, const char *p, size_t len)
{
	size_t i = 0, j, k;

	while (i < len) {
		const char *amp = memchr(p + i, '&', len - i);

		if (amp == NULL) {
			buf_add(out, p + i, len - i);
			return;
		}
		j = (size_t)(amp - p);
		buf_add(out, p + i, j - i);
		k = j + 1;
		if (k < len && p[k] == '#') {
			unsigned long cp = 0;
			int hex = 0, nd = 0;

			k++;
			if (k < len && (p[k] == 'x' || p[k] == 'X')) {
				hex = 1;
				k++;
			}
			for (; k < len && nd < 10; k++, nd++) {
				int c = (unsigned char)p[k], v;

				if (is_digit(c))
					v = c - '0';
				else if (hex && lc(c) >= 'a' && lc(c) <= 'f')
					v = lc(c) - 'a' + 10;
				else
					break;
				cp = cp * (hex ? 16 : 10) + (unsigned long)v;
			}
			if (nd > 0 && nd < 10 && cp > 0 && cp <= 0x10ffff &&
			    !(cp >= 0xd800 && cp <= 0xdfff)) {
				if (k < len && p[k] == ';')
					k++;
				put_utf8(out, (unsigned)cp);
				i = k;
				continue;
			}
		} else {
			char name[12];
			size_t n = 0;
			const struct entity *e;

			while (k < len && n < sizeof(name) - 1 &&
			    (is_alpha((unsigned char)p[k]) ||
			    is_digit((unsigned char)p[k])))
				name[n++] = p[k++];
			name[n] = '\0';
			if (n > 0 && !(k < len && (is_alpha((unsigned char)p[k])
			    || is_digit((unsigned char)p[k]))) &&
			    (e = bsearch(name, entities, sizeof(entities) /
			    sizeof(entities[0]), sizeof(entities[0]),
			    entity_cmp)) != NULL) {
				if (k < len && p[k] == ';')
					k++;
				put_utf8(out, e->cp);
				i = k;
				continue;
			}
		}
		buf_addc(out, '&');
		i = j + 1;
	}
}

/* ---- colours (HTML.pm name_to_rgb) ---- */

struct color {
	const char *name;
	unsigned rgb;
};

static const struct color colors[] = {
	{ "aliceblue", 0xf0f8ff },
	{ "antiquewhite", 0xfaebd7 },
	{ "aqua", 0x00ffff },
	{ "aquamarine", 0x7fffd4 },
	{ "azure", 0xf0ffff },
	{ "beige", 0xf5f5dc },
	{ "bisque", 0xffe4c4 },
	{ "black", 0x000000 },
	{ "blanchedalmond", 0xffebcd },
	{ "blue", 0x0000ff },
	{ "blueviolet", 0x8a2be2 },
	{ "brown", 0xa52a2a },
	{ "burlywood", 0xdeb887 },
	{ "cadetblue", 0x5f9ea0 },
	{ "chartreuse", 0x7fff00 },
	{ "chocolate", 0xd2691e },
	{ "coral", 0xff7f50 },
	{ "cornflowerblue", 0x6495ed },
	{ "cornsilk", 0xfff8dc },
	{ "crimson", 0xdc143c },
	{ "cyan", 0x00ffff },
	{ "darkblue", 0x00008b },
	{ "darkcyan", 0x008b8b },
	{ "darkgoldenrod", 0xb8860b },
	{ "darkgray", 0xa9a9a9 },
	{ "darkgreen", 0x006400 },
	{ "darkgrey", 0xa9a9a9 },
	{ "darkkhaki", 0xbdb76b },
	{ "darkmagenta", 0x8b008b },
	{ "darkolivegreen", 0x556b2f },
	{ "darkorange", 0xff8c00 },
	{ "darkorchid", 0x9932cc },
	{ "darkred", 0x8b0000 },
	{ "darksalmon", 0xe9967a },
	{ "darkseagreen", 0x8fbc8f },
	{ "darkslateblue", 0x483d8b },
	{ "darkslategray", 0x2f4f4f },
	{ "darkslategrey", 0x2f4f4f },
	{ "darkturquoise", 0x00ced1 },
	{ "darkviolet", 0x9400d3 },
	{ "deeppink", 0xff1493 },
	{ "deepskyblue", 0x00bfff },
	{ "dimgray", 0x696969 },
	{ "dimgrey", 0x696969 },
	{ "dodgerblue", 0x1e90ff },
	{ "firebrick", 0xb22222 },
	{ "floralwhite", 0xfffaf0 },
	{ "forestgreen", 0x228b22 },
	{ "fuchsia", 0xff00ff },
	{ "gainsboro", 0xdcdcdc },
	{ "ghostwhite", 0xf8f8ff },
	{ "gold", 0xffd700 },
	{ "goldenrod", 0xdaa520 },
	{ "gray", 0x808080 },
	{ "green", 0x008000 },
	{ "greenyellow", 0xadff2f },
	{ "grey", 0x808080 },
	{ "honeydew", 0xf0fff0 },
	{ "hotpink", 0xff69b4 },
	{ "indianred", 0xcd5c5c },
	{ "indigo", 0x4b0082 },
	{ "ivory", 0xfffff0 },
	{ "khaki", 0xf0e68c },
	{ "lavender", 0xe6e6fa },
	{ "lavenderblush", 0xfff0f5 },
	{ "lawngreen", 0x7cfc00 },
	{ "lemonchiffon", 0xfffacd },
	{ "lightblue", 0xadd8e6 },
	{ "lightcoral", 0xf08080 },
	{ "lightcyan", 0xe0ffff },
	{ "lightgoldenrodyellow", 0xfafad2 },
	{ "lightgray", 0xd3d3d3 },
	{ "lightgreen", 0x90ee90 },
	{ "lightgrey", 0xd3d3d3 },
	{ "lightpink", 0xffb6c1 },
	{ "lightsalmon", 0xffa07a },
	{ "lightseagreen", 0x20b2aa },
	{ "lightskyblue", 0x87cefa },
	{ "lightslategray", 0x778899 },
	{ "lightslategrey", 0x778899 },
	{ "lightsteelblue", 0xb0c4de },
	{ "lightyellow", 0xffffe0 },
	{ "lime", 0x00ff00 },
	{ "limegreen", 0x32cd32 },
	{ "linen", 0xfaf0e6 },
	{ "magenta", 0xff00ff },
	{ "maroon", 0x800000 },
	{ "mediumaquamarine", 0x66cdaa },
	{ "mediumblue", 0x0000cd },
	{ "mediumorchid", 0xba55d3 },
	{ "mediumpurple", 0x9370db },
	{ "mediumseagreen", 0x3cb371 },
	{ "mediumslateblue", 0x7b68ee },
	{ "mediumspringgreen", 0x00fa9a },
	{ "mediumturquoise", 0x48d1cc },
	{ "mediumvioletred", 0xc71585 },
	{ "midnightblue", 0x191970 },
	{ "mintcream", 0xf5fffa },
	{ "mistyrose", 0xffe4e1 },
	{ "moccasin", 0xffe4b5 },
	{ "navajowhite", 0xffdead },
	{ "navy", 0x000080 },
	{ "oldlace", 0xfdf5e6 },
	{ "olive", 0x808000 },
	{ "olivedrab", 0x6b8e23 },
	{ "orange", 0xffa500 },
	{ "orangered", 0xff4500 },
	{ "orchid", 0xda70d6 },
	{ "palegoldenrod", 0xeee8aa },
	{ "palegreen", 0x98fb98 },
	{ "paleturquoise", 0xafeeee },
	{ "palevioletred", 0xdb7093 },
	{ "papayawhip", 0xffefd5 },
	{ "peachpuff", 0xffdab9 },
	{ "peru", 0xcd853f },
	{ "pink", 0xffc0cb },
	{ "plum", 0xdda0dd },
	{ "powderblue", 0xb0e0e6 },
	{ "purple", 0x800080 },
	{ "red", 0xff0000 },
	{ "rosybrown", 0xbc8f8f },
	{ "royalblue", 0x4169e1 },
	{ "saddlebrown", 0x8b4513 },
	{ "salmon", 0xfa8072 },
	{ "sandybrown", 0xf4a460 },
	{ "seagreen", 0x2e8b57 },
	{ "seashell", 0xfff5ee },
	{ "sienna", 0xa0522d },
	{ "silver", 0xc0c0c0 },
	{ "skyblue", 0x87ceeb },
	{ "slateblue", 0x6a5acd },
	{ "slategray", 0x708090 },
	{ "slategrey", 0x708090 },
	{ "snow", 0xfffafa },
	{ "springgreen", 0x00ff7f },
	{ "steelblue", 0x4682b4 },
	{ "tan", 0xd2b48c },
	{ "teal", 0x008080 },
	{ "thistle", 0xd8bfd8 },
	{ "tomato", 0xff6347 },
	{ "turquoise", 0x40e0d0 },
	{ "violet", 0xee82ee },
	{ "wheat", 0xf5deb3 },
	{ "white", 0xffffff },
	{ "whitesmoke", 0xf5f5f5 },
	{ "yellow", 0xffff00 },
	{ "yellowgreen", 0x9acd32 },
};

static int
color_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct color *)e)->name);
}

/* name_to_rgb: "#rrggbb" or "invalid" into out[16]. */
static void
name_to_rgb(const char *in, char out[16])
{
	char c[64], hex[16];
	size_t n = 0, i, hn = 0;
	const struct color *col;
	unsigned r, g, b;

	while (is_space((unsigned char)*in))
		in++;
	for (; *in != '\0' && n < sizeof(c) - 1; in++)
		c[n++] = (char)lc((unsigned char)*in);
	while (n > 0 && is_space((unsigned char)c[n - 1]))
		n--;
	c[n] = '\0';
	if ((col = bsearch(c, colors, sizeof(colors) / sizeof(colors[0]),
	    sizeof(colors[0]), color_cmp)) != NULL) {
		snprintf(out, 16, "#%06x", col->rgb);
		return;
	}
	/* rgb(r,g,b) and rgb(r%,g%,b%) */
	if (strncmp(c, "rgb(", 4) == 0) {
		if (sscanf(c, "rgb(%u%%,%u%%,%u%%", &r, &g, &b) == 3 &&
		    r <= 100 && g <= 100 && b <= 100) {
			snprintf(out, 16, "#%02x%02x%02x", r * 255 / 100,
			    g * 255 / 100, b * 255 / 100);
			return;
		}
		if (sscanf(c, "rgb(%u,%u,%u", &r, &g, &b) == 3 && r < 4096 &&
		    g < 4096 && b < 4096) {
			snprintf(out, 16, "#%02x%02x%02x", r, g, b);
			if (strlen(out) > 7)
				snprintf(out, 16, "invalid");
			return;
		}
	}
	for (i = 0; i < n; i++)
		if (!(c[i] == '#' || is_digit((unsigned char)c[i]) ||
		    (c[i] >= 'a' && c[i] <= 'f')))
			break;
	if (i < n || c[0] != '#') {
		snprintf(out, 16, "invalid");
		return;
	}
	for (i = 1; i < n && hn < 6; i++)
		if (c[i] != '#')
			hex[hn++] = c[i];
	if (hn > 3 && hn < 6)
		hn = 3;
	while (hn % 3 != 0)
		hex[hn++] = '0';
	if (hn == 3) {
		hex[5] = hex[2]; hex[4] = hex[2];
		hex[3] = hex[1]; hex[2] = hex[1];
		hex[1] = hex[0];
		hn = 6;
	}
	out[0] = '#';
	memcpy(out + 1, hex, hn);
	out[hn + 1] = '\0';
}

static int
parse_hex6(const char *s, unsigned rgb[3])
{
	unsigned v;
	int i;

	if (*s == '#')
		s++;
	if (strlen(s) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		if (!is_digit((unsigned char)s[i]) && !(s[i] >= 'a' &&
		    s[i] <= 'f'))
			return -1;
	if (sscanf(s, "%6x", &v) != 1)
		return -1;
	rgb[0] = v >> 16;
	rgb[1] = (v >> 8) & 0xff;
	rgb[2] = v & 0xff;
	return 0;
}

/* ---- the inside{} counts ---- */

static struct sm_html_tag *
tag_slot(struct hstate *s, const char *name, int create)
{
	struct sm_html *h = s->h;
	size_t i;

	for (i = 0; i < h->ntag; i++)
		if (streq(h->tag[i].name, name))
			return &h->tag[i];
	if (!create || h->ntag >= SM_HTML_MAX_TAGS)
		return NULL;
	if (h->ntag == s->cap_tag) {
		size_t nc = s->cap_tag ? s->cap_tag * 2 : 16;
		struct sm_html_tag *t = arena_allocarray(s->a, nc, sizeof(*t));

		if (h->ntag > 0)
			memcpy(t, h->tag, h->ntag * sizeof(*t));
		h->tag = t;
		s->cap_tag = nc;
	}
	h->tag[h->ntag].name = arena_strdup(s->a, name);
	h->tag[h->ntag].inside = 0;
	return &h->tag[h->ntag++];
}

static int
inside(struct hstate *s, const char *name)
{
	struct sm_html_tag *t = tag_slot(s, name, 0);

	return t != NULL ? t->inside : 0;
}

int
sm_html_inside(const struct sm_html *h, const char *name)
{
	size_t i;

	if (h == NULL)
		return -1;
	for (i = 0; i < h->ntag; i++)
		if (streq(h->tag[i].name, name))
			return h->tag[i].inside;
	return -1;
}

/* ---- rendering (display_text) ---- */

static void
display_ws(struct hstate *s, const char *ws)
{
	struct buf *o = s->out;

	if (s->have_last && !(s->last_flags & (PIECE_WS | PIECE_INV)) &&
	    o->len > s->last_start && o->data[o->len - 1] == ' ')
		o->len--;
	s->last_start = o->len;
	buf_adds(o, ws);
	s->last_flags = PIECE_WS;
	s->have_last = 1;
}

static void
display_text(struct hstate *s, const char *p, size_t len, int invisible)
{
	struct buf *o = s->out;
	size_t i = 0, start = o->len;
	int strip = s->have_last && !invisible && (s->last_flags & PIECE_WS);

	/* s/[ \t\n\r\f\x0b]+|\xc2\xa0/ /g: on characters the second
	 * branch is "A-circumflex NBSP", which we leave alone too. */
	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (is_space(c)) {
			while (i < len && is_space((unsigned char)p[i]))
				i++;
			buf_addc(o, ' ');
		} else {
			buf_addc(o, c);
			i++;
		}
	}
	if (strip && o->len > start && o->data[start] == ' ') {
		memmove(o->data + start, o->data + start + 1,
		    o->len - start - 1);
		o->len--;
		o->data[o->len] = '\0';
	}
	s->last_start = start;
	s->last_flags = invisible ? PIECE_INV : 0;
	s->have_last = 1;
}

static int
font_invisible(struct hstate *s)
{
	const struct style *t = &s->st[s->nst - 1];
	size_t fl = strlen(t->fg), bl = strlen(t->bg);
	unsigned a[3], b[3];

	if (strcmp(t->fg + (fl > 6 ? fl - 6 : 0),
	    t->bg + (bl > 6 ? bl - 6 : 0)) == 0) {
		s->h->font_low_contrast = 1;
		return 1;
	}
	if (parse_hex6(t->fg, a) == 0 && parse_hex6(t->bg, b) == 0) {
		double r = (double)a[0] - b[0], g = (double)a[1] - b[1],
		    bl2 = (double)a[2] - b[2];
		double d = (0.2126 * r) * (0.2126 * r) +
		    (0.7152 * g) * (0.7152 * g) + (0.0722 * bl2) * (0.0722 * bl2);

		if (d < 144.0) {	/* distance < 12 */
			s->h->font_low_contrast = 1;
			return 1;
		}
	}
	if (streq(t->fg, "invalid") || streq(t->bg, "invalid")) {
		s->h->font_invalid_color = 1;
		return 1;
	}
	if (t->size <= 1)
		return 1;
	if (mem_ieq(t->display, strlen(t->display), "none", 4))
		return 1;
	if (mem_ieq(t->visibility, strlen(t->visibility), "hidden", 6))
		return 1;
	return 0;
}

static void
append_capped(struct buf *b, const char *p, size_t len, size_t cap)
{
	if (b->len >= cap)
		return;
	if (len > cap - b->len)
		len = cap - b->len;
	buf_add(b, p, len);
}

/* html_text: one run of (decoded) text between markup. */
static void
html_text(struct hstate *s, const char *p, size_t len)
{
	struct buf *o = s->out;
	size_t i;
	int invisible = 0, content = 0;

	if (len == 0)
		return;
	if (inside(s, "script") > 0) {
		s->h->nscript++;
		return;
	}
	if (inside(s, "style") > 0)
		return;
	if (inside(s, "a") > 0 && s->have_anchor)
		append_capped(&s->anchor, p, len, HTML_MAX_ANCHOR_TEXT);
	if (inside(s, "title") > 0 && s->title_idx == 0)
		append_capped(&s->title, p, len, HTML_MAX_TITLE);
	for (i = 0; i < len && !content; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!is_space(c))
			content = 1;
	}
	if (content)
		invisible = font_invisible(s);
	if (s->have_last) {
		const char *l = o->data + s->last_start;
		size_t ll = o->len - s->last_start, a = 0, b = 0;

		if (ll > 0 && is_wordish((unsigned char)p[0]) &&
		    is_wordish((unsigned char)l[ll - 1]))
			s->h->obfuscation++;
		/* \b(\w{1,7})\z and ^(\w{1,7})\b: split words */
		while (a < ll && a < 8 && is_wordish((unsigned char)l[ll - 1 - a]))
			a++;
		while (b < len && b < 8 && is_wordish((unsigned char)p[b]))
			b++;
		if (a >= 1 && a <= 7 && b >= 1 && b <= 7)
			s->backhair[a] |= (uint64_t)1 << b;
	}
	display_text(s, p, len, invisible);
}

/* ---- text_style ---- */

static void
close_table_tag(struct hstate *s, const char *tag)
{
	size_t i;
	int found = 0;

	for (i = 0; i < s->nst; i++)
		if (streq(s->st[i].tag, tag))
			found = 1;
	if (!found)
		return;
	while (s->nst > 1) {
		const char *top = s->st[s->nst - 1].tag;

		if ((streq(tag, "td") && (streq(top, "font") ||
		    streq(top, "td"))) || (streq(tag, "tr") &&
		    (streq(top, "font") || streq(top, "td") ||
		    streq(top, "tr"))))
			s->nst--;
		else
			break;
	}
}

static void
close_tag(struct hstate *s, const char *tag)
{
	size_t i;
	int found = 0;

	for (i = 0; i < s->nst; i++)
		if (streq(s->st[i].tag, tag))
			found = 1;
	if (!found)
		return;
	/* The default style at the bottom never matches a real tag. */
	while (s->nst > 1) {
		int last = streq(s->st[s->nst - 1].tag, tag);

		s->nst--;
		if (last)
			break;
	}
}

static void
copy_field(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* One "prop: value" of a style attribute. */
static void
style_decl(struct style *n, const struct style *parent, const char *d,
    size_t len)
{
	size_t i = 0, ks, ke, vs, ve;
	char val[64];
	int bg = 0;

	while (i < len && is_space((unsigned char)d[i]))
		i++;
	ks = i;
	while (i < len && (is_alpha((unsigned char)d[i]) || d[i] == '_' ||
	    d[i] == '-'))
		i++;
	ke = i;
	while (i < len && is_space((unsigned char)d[i]))
		i++;
	if (ke == ks || i >= len || d[i] != ':')
		return;
	i++;
	while (i < len && is_space((unsigned char)d[i]))
		i++;
	vs = i;
	ve = len;
	while (ve > vs && is_space((unsigned char)d[ve - 1]))
		ve--;
	if (ve == vs)
		return;
	if (mem_ieq(d + ks, ke - ks, "color", 5) ||
	    (bg = mem_ieq(d + ks, ke - ks, "background-color", 16))) {
		char *w = bg ? n->bg : n->fg;
		size_t k, m = 0;

		for (k = vs; k < ve && m < sizeof(val) - 1; k++)
			val[m++] = (char)lc((unsigned char)d[k]);
		val[m] = '\0';
		/* s/\s*!\s*important$// */
		if (m >= 9 && strcmp(val + m - 9, "important") == 0) {
			size_t e = m - 9;

			while (e > 0 && is_space((unsigned char)val[e - 1]))
				e--;
			if (e > 0 && val[e - 1] == '!') {
				e--;
				while (e > 0 && is_space((unsigned char)val[e - 1]))
					e--;
				val[e] = '\0';
			}
		}
		if (strstr(val, "rgb") != NULL) {
			unsigned c[3] = { 0, 0, 0 };
			size_t q = 0;
			char *x = val;

			/* tr/0-9,//cd; split /,/ */
			for (; *x != '\0' && q < 3; x++) {
				if (is_digit((unsigned char)*x)) {
					if (c[q] < 1000)
						c[q] = c[q] * 10 +
						    (unsigned)(*x - '0');
				} else if (*x == ',')
					q++;
			}
			snprintf(w, 16, "#%02x%02x%02x", c[0] > 255 ? 255 :
			    c[0], c[1] > 255 ? 255 : c[1], c[2] > 255 ? 255 :
			    c[2]);
		} else if (streq(val, "inherit")) {
			;
		} else if (streq(val, "transparent"))
			snprintf(w, 16, "transparent");
		else
			name_to_rgb(val, w);
		return;
	}
	if (mem_ieq(d + ks, ke - ks, "background", 10) && ke - ks == 10 &&
	    memcmp(d + ks, "background", 10) == 0) {
		/* Last layer, first token that is a colour. */
		size_t k = ve, t0;
		char tok[64], rgb[16];

		while (k > vs && d[k - 1] != ',')
			k--;
		while (k < ve) {
			while (k < ve && d[k] == ' ')
				k++;
			t0 = k;
			while (k < ve && d[k] != ' ')
				k++;
			if (k > t0) {
				size_t m = 0, q;

				for (q = t0; q < k && m < sizeof(tok) - 1; q++)
					tok[m++] = (char)lc((unsigned char)d[q]);
				tok[m] = '\0';
				name_to_rgb(tok, rgb);
				if (!streq(rgb, "invalid")) {
					memcpy(n->bg, rgb, sizeof(rgb));
					break;
				}
			}
		}
		(void)parent;
		return;
	}
	if (ke - ks == 7 && memcmp(d + ks, "display", 7) == 0)
		copy_field(n->display, sizeof(n->display), d + vs, ve - vs);
	else if (ke - ks == 10 && memcmp(d + ks, "visibility", 10) == 0)
		copy_field(n->visibility, sizeof(n->visibility), d + vs,
		    ve - vs);
}

static void
text_style(struct hstate *s, const char *tag0, const struct attr *at,
    size_t nat, int open)
{
	const char *tag = streq(tag0, "th") ? "td" : tag0;
	struct style n;
	size_t i;

	if (!open) {
		if (!streq(tag, "body"))
			close_tag(s, tag);
		return;
	}
	if (streq(tag, "basefont")) {
		for (i = 0; i < nat; i++) {
			const char *v = at[i].val;

			while (is_space((unsigned char)*v))
				v++;
			if (streq(at[i].name, "size") && is_digit((unsigned char)*v)) {
				s->basefont = atoi(v);
				return;
			}
		}
	}
	if (streq(tag, "td") || streq(tag, "tr"))
		close_table_tag(s, tag);
	n = s->st[s->nst - 1];
	copy_field(n.tag, sizeof(n.tag), tag, strlen(tag));
	if (streq(tag, "big") || streq(tag, "small")) {
		n.size += streq(tag, "big") ? 1 : -1;
		goto push;
	}
	for (i = 0; i < nat; i++) {
		const char *name = at[i].name, *v = at[i].val;

		if (!ok_attribute(tag, name))
			continue;
		if (streq(name, "text") || streq(name, "color"))
			name_to_rgb(v, n.fg);
		else if (streq(name, "size")) {
			while (is_space((unsigned char)*v))
				v++;
			if ((*v == '+' || *v == '-') && is_digit((unsigned char)v[1]))
				n.size = s->basefont + atoi(v);
			else if (is_digit((unsigned char)*v))
				n.size = atoi(v);
		} else if (streq(name, "style")) {
			const char *d = v, *semi;

			for (;;) {
				semi = strchr(d, ';');
				style_decl(&n, &s->st[s->nst - 1], d, semi ?
				    (size_t)(semi - d) : strlen(d));
				if (semi == NULL)
					break;
				d = semi + 1;
			}
			if (streq(n.bg, "transparent"))
				memcpy(n.bg, s->st[s->nst - 1].bg, sizeof(n.bg));
			if (streq(n.fg, "transparent"))
				memcpy(n.fg, n.bg, sizeof(n.fg));
		}
		/* bgcolor: HTML.pm converts it but never applies it. */
		if (n.size > s->h->max_size)
			s->h->max_size = n.size;
		else if (n.size < s->h->min_size)
			s->h->min_size = n.size;
	}
push:
	if (s->nst < HTML_MAX_STYLE)
		s->st[s->nst++] = n;
}

/* ---- URIs ---- */

static void
add_uri(struct hstate *s, const char *u)
{
	struct sm_html *h = s->h;

	if (h->nuris >= SM_HTML_MAX_URIS)
		return;
	if (h->nuris == s->cap_uris) {
		size_t nc = s->cap_uris ? s->cap_uris * 2 : 16;
		const char **t = arena_allocarray(s->a, nc, sizeof(*t));

		if (h->nuris > 0)
			memcpy(t, h->uris, h->nuris * sizeof(*t));
		h->uris = t;
		s->cap_uris = nc;
	}
	h->uris[h->nuris++] = u;
}

/* canon_uri: trim whitespace (and NBSP), cap the length. */
static char *
canon_uri(struct hstate *s, const char *u)
{
	size_t len = strlen(u);

	for (;;) {
		if (len > 0 && is_space((unsigned char)*u)) {
			u++;
			len--;
		} else if (len > 1 && (unsigned char)u[0] == 0xc2 &&
		    (unsigned char)u[1] == 0xa0) {
			u += 2;
			len -= 2;
		} else
			break;
	}
	for (;;) {
		if (len > 0 && is_space((unsigned char)u[len - 1]))
			len--;
		else if (len > 1 && (unsigned char)u[len - 2] == 0xc2 &&
		    (unsigned char)u[len - 1] == 0xa0)
			len -= 2;
		else
			break;
	}
	if (len > HTML_MAX_URI) {
		s->h->uri_truncated = 1;
		len = HTML_MAX_URI;
	}
	return arena_strndup(s->a, u, len);
}

struct uparts {
	struct span scheme, auth, path, query, frag;
	int has_scheme, has_auth, has_query, has_frag;
};

/* RFC 3986 appendix B, as HTML.pm's _parse_uri. */
static void
parse_uri(const char *u, struct uparts *p)
{
	size_t i = 0, len = strlen(u), k;

	memset(p, 0, sizeof(*p));
	for (k = 0; k < len && u[k] != ':' && u[k] != '/' && u[k] != '?' &&
	    u[k] != '#'; k++)
		;
	if (k > 0 && k < len && u[k] == ':') {
		p->has_scheme = 1;
		p->scheme = (struct span){ u, k };
		i = k + 1;
	}
	if (i + 1 < len && u[i] == '/' && u[i + 1] == '/') {
		i += 2;
		k = i;
		while (k < len && u[k] != '/' && u[k] != '?' && u[k] != '#')
			k++;
		p->has_auth = 1;
		p->auth = (struct span){ u + i, k - i };
		i = k;
	}
	k = i;
	while (k < len && u[k] != '?' && u[k] != '#')
		k++;
	p->path = (struct span){ u + i, k - i };
	i = k;
	if (i < len && u[i] == '?') {
		k = ++i;
		while (k < len && u[k] != '#')
			k++;
		p->has_query = 1;
		p->query = (struct span){ u + i, k - i };
		i = k;
	}
	if (i < len && u[i] == '#') {
		p->has_frag = 1;
		p->frag = (struct span){ u + i + 1, len - i - 1 };
	}
}

/* _remove_dot_segments */
static void
remove_dots(struct buf *out, const char *in, size_t len)
{
	size_t start = out->len, i = 0;
	int lead = 0;

	if (len >= 2 && in[0] == '.' && in[1] == '/') {
		lead = 1;
		i = 1;
	} else if (len >= 3 && in[0] == '.' && in[1] == '.' && in[2] == '/') {
		lead = 1;
		i = 2;
	}
	(void)lead;
	while (i < len) {
		size_t rest = len - i;

		if (rest >= 2 && in[i] == '/' && in[i + 1] == '.' &&
		    (rest == 2 || in[i + 2] == '/')) {
			i += 2;
			if (rest == 2) {
				buf_addc(out, '/');
				break;
			}
		} else if (rest >= 3 && in[i] == '/' && in[i + 1] == '.' &&
		    in[i + 2] == '.' && (rest == 3 || in[i + 3] == '/')) {
			i += 3;
			while (out->len > start && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > start)
				out->len--;
			if (rest == 3) {
				buf_addc(out, '/');
				break;
			}
		} else {
			size_t k = i + 1;

			while (k < len && in[k] != '/')
				k++;
			buf_add(out, in + i, k - i);
			i = k;
		}
	}
	buf_reserve(out, 0);
	out->data[out->len] = '\0';
}

/* target_uri: resolve r against the base href. */
static char *
target_uri(struct hstate *s, const char *base, const char *r)
{
	struct uparts R, B;
	struct buf t = BUF_INIT;
	struct span scheme = { NULL, 0 }, auth = { NULL, 0 }, query = { NULL, 0 };
	int has_scheme, has_auth = 0, has_query = 0;
	char *res;

	parse_uri(r, &R);
	parse_uri(base, &B);
	if (R.has_scheme && B.has_scheme && R.scheme.len == B.scheme.len &&
	    memcmp(R.scheme.p, B.scheme.p, R.scheme.len) == 0)
		R.has_scheme = 0;
	struct buf path = BUF_INIT;
	if (R.has_scheme) {
		scheme = R.scheme;
		has_scheme = 1;
		auth = R.auth;
		has_auth = R.has_auth;
		remove_dots(&path, R.path.p, R.path.len);
		query = R.query;
		has_query = R.has_query;
	} else {
		if (R.has_auth) {
			auth = R.auth;
			has_auth = 1;
			remove_dots(&path, R.path.p, R.path.len);
			query = R.query;
			has_query = R.has_query;
		} else {
			if (R.path.len == 0) {
				buf_add(&path, B.path.p, B.path.len);
				if (R.has_query) {
					query = R.query;
					has_query = 1;
				} else {
					query = B.query;
					has_query = B.has_query;
				}
			} else {
				if (R.path.p[0] == '/')
					remove_dots(&path, R.path.p, R.path.len);
				else {
					struct buf m = BUF_INIT;

					if (B.has_auth && B.path.len == 0) {
						buf_addc(&m, '/');
					} else {
						size_t k = B.path.len;

						while (k > 0 && B.path.p[k - 1] != '/')
							k--;
						buf_add(&m, B.path.p, k);
					}
					buf_add(&m, R.path.p, R.path.len);
					remove_dots(&path, m.data, m.len);
					buf_free(&m);
				}
				query = R.query;
				has_query = R.has_query;
			}
			auth = B.auth;
			has_auth = B.has_auth;
		}
		scheme = B.scheme;
		has_scheme = B.has_scheme;
	}
	if (has_scheme && scheme.len > 0) {
		buf_add(&t, scheme.p, scheme.len);
		buf_addc(&t, ':');
	}
	if (has_auth) {
		buf_adds(&t, "//");
		buf_add(&t, auth.p, auth.len);
	}
	buf_add(&t, path.data != NULL ? path.data : "", path.len);
	if (has_query) {
		buf_addc(&t, '?');
		buf_add(&t, query.p, query.len);
	}
	if (R.has_frag) {
		buf_addc(&t, '#');
		buf_add(&t, R.frag.p, R.frag.len);
	}
	res = arena_strndup(s->a, t.data != NULL ? t.data : "", t.len);
	buf_free(&t);
	buf_free(&path);
	return res;
}

static void
push_uri(struct hstate *s, const char *raw)
{
	char *u = canon_uri(s, raw);
	const char *t;

	if (*u == '\0')
		return;
	if (mem_ieq(u, 5, "data:", 5) || mem_ieq(u, 7, "mailto:", 7) ||
	    mem_ieq(u, 5, "file:", 5) || mem_ieq(u, 4, "cid:", 4) ||
	    mem_ieq(u, 4, "tel:", 4)) {
		add_uri(s, u);
		return;
	}
	t = target_uri(s, s->base_href != NULL ? s->base_href : "", u);
	if (*t != '\0')
		add_uri(s, t);
}

static const char *
attr_get(const struct attr *at, size_t nat, const char *name)
{
	size_t i;

	/* HTML::Parser keeps the first of repeated attributes. */
	for (i = 0; i < nat; i++)
		if (streq(at[i].name, name))
			return at[i].val;
	return NULL;
}

/* "x/href" style attribute names count as href (HTML.pm). */
static const char *
attr_slashed(const struct attr *at, size_t nat, const char *suffix)
{
	size_t i, sl = strlen(suffix);

	for (i = 0; i < nat; i++) {
		size_t nl = strlen(at[i].name);

		if (nl > sl + 1 && strcmp(at[i].name + nl - sl, suffix) == 0 &&
		    at[i].name[nl - sl - 1] == '/')
			return at[i].val;
	}
	return NULL;
}

static void
html_uri(struct hstate *s, const char *tag, const struct attr *at,
    size_t nat)
{
	const char *v;

	if (streq(tag, "body") || streq(tag, "table") || streq(tag, "tr") ||
	    streq(tag, "td")) {
		if ((v = attr_get(at, nat, "background")) != NULL)
			push_uri(s, v);
	} else if (streq(tag, "a") || streq(tag, "area") ||
	    streq(tag, "link")) {
		if ((v = attr_slashed(at, nat, "href")) == NULL)
			v = attr_get(at, nat, "href");
		if (v != NULL) {
			struct buf b = BUF_INIT;
			const char *q = v, *bom;

			/* remove BOMs */
			while ((bom = strstr(q, "\xef\xbb\xbf")) != NULL) {
				buf_add(&b, q, (size_t)(bom - q));
				q = bom + 3;
			}
			buf_adds(&b, q);
			push_uri(s, b.data != NULL ? b.data : "");
			buf_free(&b);
		}
		if ((v = attr_get(at, nat, "data-saferedirecturl")) != NULL)
			push_uri(s, v);
	} else if (streq(tag, "img") || streq(tag, "frame") ||
	    streq(tag, "iframe") || streq(tag, "embed") ||
	    streq(tag, "script") || streq(tag, "bgsound")) {
		if ((v = attr_slashed(at, nat, "src")) == NULL)
			v = attr_get(at, nat, "src");
		if (v != NULL)
			push_uri(s, v);
	} else if (streq(tag, "form")) {
		if ((v = attr_get(at, nat, "action")) != NULL)
			push_uri(s, v);
	} else if (streq(tag, "base")) {
		if ((v = attr_get(at, nat, "href")) != NULL && *v != '\0') {
			char *u = canon_uri(s, v);
			size_t n = strlen(u), k;

			push_uri(s, u);
			if ((mem_ieq(u, 5, "http:", 5) ||
			    mem_ieq(u, 6, "https:", 6) ||
			    mem_ieq(u, 4, "ftp:", 4)) && n > 0) {
				struct buf b = BUF_INIT;

				/* Drop a trailing file name ("x.html"). */
				k = n;
				while (k > 0 && u[k - 1] != '/' && u[k - 1] != '.')
					k--;
				if (k > 1 && u[k - 1] == '.' && n - k >= 2 &&
				    n - k <= 4) {
					size_t d = k - 1;

					while (d > 0 && u[d - 1] != '/' &&
					    u[d - 1] != '.')
						d--;
					if (d < k - 1 && d > 0 && u[d - 1] == '/' &&
					    strstr(u, "://") != NULL &&
					    u + d > strstr(u, "://") + 3 &&
					    memchr(strstr(u, "://") + 3, '/',
					    (size_t)(u + d - (strstr(u, "://") +
					    3))) != NULL)
						n = d;
				}
				buf_add(&b, u, n);
				if (n == 0 || u[n - 1] != '/')
					buf_addc(&b, '/');
				s->base_href = arena_strndup(s->a, b.data, b.len);
				buf_free(&b);
			}
		}
	} else if (streq(tag, "meta")) {
		const char *he = attr_get(at, nat, "http-equiv");
		const char *c = attr_get(at, nat, "content");
		const char *u;

		if (he != NULL && c != NULL && strcasestr(he, "refresh") != NULL
		    && (u = strcasestr(c, "url")) != NULL) {
			const char *q = u + 3;

			while (is_space((unsigned char)*q))
				q++;
			if (*q == '=') {
				struct buf b = BUF_INIT;
				size_t n;

				q++;
				while (is_space((unsigned char)*q))
					q++;
				n = strcspn(q, ";");
				while (n > 0 && is_space((unsigned char)q[n - 1]))
					n--;
				buf_add(&b, q, n);
				push_uri(s, b.data != NULL ? b.data : "");
				buf_free(&b);
			}
		}
	}
}

/* The font face test of HTML.pm: a list of plain family names. */
static int
font_face_ok(const char *f)
{
	size_t i = 0, n = strlen(f);
	int first = 1;

	while (i < n && is_space((unsigned char)f[i]))
		i++;
	for (;;) {
		size_t r0, r1;

		if (first) {
			if (i < n && (f[i] == '"' || f[i] == '\'' || f[i] == '.'))
				i++;
		} else {
			while (i < n && is_space((unsigned char)f[i]))
				i++;
			if (i < n && (f[i] == '"' || f[i] == '\''))
				i++;
		}
		r0 = i;
		while (i < n && (is_alpha((unsigned char)f[i]) || f[i] == ' ' ||
		    f[i] == '-'))
			i++;
		r1 = i;
		if (r1 - r0 < 2 || f[r0] == '-' || (!first && f[r0] == ' ') ||
		    !is_alpha((unsigned char)f[r1 - 1]))
			return 0;
		if (i < n && is_digit((unsigned char)f[i]))
			i++;
		if (i < n && (f[i] == '"' || f[i] == '\''))
			i++;
		if (i < n && f[i] == ',') {
			i++;
			first = 0;
			continue;
		}
		if (i < n && f[i] == ';')
			i++;
		return i == n;
	}
}

static void
html_tests(struct hstate *s, const char *tag, const struct attr *at,
    size_t nat)
{
	const char *v, *w;

	if (streq(tag, "font") && (v = attr_get(at, nat, "face")) != NULL &&
	    !font_face_ok(v))
		s->h->font_face_bad = 1;
	if (streq(tag, "img") && inside(s, "a") > 0 && s->have_anchor)
		append_capped(&s->anchor, "<img>\n", 6, HTML_MAX_ANCHOR_TEXT);
	if (streq(tag, "img") && (w = attr_get(at, nat, "width")) != NULL &&
	    (v = attr_get(at, nat, "height")) != NULL) {
		unsigned long wd = 0, ht = 0;
		size_t k;

		/* /^(\d+)(\%)?$/ */
		for (k = 0; is_digit((unsigned char)w[k]) && k < 9; k++)
			wd = wd * 10 + (unsigned long)(w[k] - '0');
		if (k == 0 || !(w[k] == '\0' || (w[k] == '%' && w[k + 1] == '\0')))
			wd = 0;
		else if (w[k] == '%')
			wd *= 8;
		for (k = 0; is_digit((unsigned char)v[k]) && k < 9; k++)
			ht = ht * 10 + (unsigned long)(v[k] - '0');
		if (k == 0 || !(v[k] == '\0' || (v[k] == '%' && v[k + 1] == '\0')))
			ht = 0;
		else if (v[k] == '%')
			ht *= 6;
		if (wd == 0)
			wd = 200;
		if (ht == 0)
			ht = 200;
		s->h->image_area += wd * ht;
	}
	if (streq(tag, "form") && (v = attr_get(at, nat, "action")) != NULL &&
	    strcasestr(v, "mailto:") != NULL)
		s->h->form_action_mailto = 1;
	if (streq(tag, "object") || streq(tag, "embed"))
		s->h->embeds = 1;
	if (streq(tag, "a")) {
		/* A new anchor: the previous one's text is complete. */
		if (s->have_anchor && s->h->nanchor < SM_HTML_MAX_URIS) {
			if (s->h->nanchor == s->cap_anchor) {
				size_t nc = s->cap_anchor ? s->cap_anchor * 2 : 16;
				const char **t = arena_allocarray(s->a, nc,
				    sizeof(*t));
				const char **tu = arena_allocarray(s->a, nc,
				    sizeof(*tu));

				if (s->h->nanchor > 0) {
					memcpy(t, s->h->anchor,
					    s->h->nanchor * sizeof(*t));
					memcpy(tu, s->h->anchor_uri,
					    s->h->nanchor * sizeof(*tu));
				}
				s->h->anchor = t;
				s->h->anchor_uri = tu;
				s->cap_anchor = nc;
			}
			s->h->anchor_uri[s->h->nanchor] = s->anchor_last != NULL ?
			    s->anchor_last : "";
			s->h->anchor[s->h->nanchor++] = arena_strndup(s->a,
			    s->anchor.data != NULL ? s->anchor.data : "",
			    s->anchor.len);
		}
		buf_reset(&s->anchor);
		s->have_anchor = 1;
		/* HTML.pm keys the anchor text by the unresolved href ("" for
		 * <a name=...>), and those keys are URIs to uri rules too. */
		v = attr_get(at, nat, "href");
		s->anchor_last = v != NULL ? canon_uri(s, v) : "";
		add_uri(s, s->anchor_last);
	}
	if (streq(tag, "title")) {
		s->title_idx++;
		s->h->has_title = 1;
	}
	if (streq(tag, "meta") && (v = attr_get(at, nat, "http-equiv")) != NULL
	    && (w = attr_get(at, nat, "content")) != NULL &&
	    strcasestr(v, "content-type") != NULL) {
		const char *c = strcasestr(w, "charset");

		if (c != NULL) {
			c += 7;
			while (is_space((unsigned char)*c))
				c++;
			if (*c == '=') {
				size_t n;

				c++;
				while (is_space((unsigned char)*c))
					c++;
				if (*c == '"' || *c == '\'')
					c++;
				n = strcspn(c, "\"'");
				if (n > 0 && s->charsets.len < 1024) {
					if (s->charsets.len > 0)
						buf_addc(&s->charsets, ' ');
					buf_add(&s->charsets, c, n);
				}
			}
		}
	}
}

/* html_tag: a start (open) or end tag with its attributes. */
static void
html_tag(struct hstate *s, const char *tag, const struct attr *at,
    size_t nat, int open)
{
	struct sm_html_tag *t;
	int known = in_list(tag, elements), ns = 0;
	size_t k;

	/* m@^(?:o|st\d):[\w-]+/?$@ : Office namespaces */
	if ((tag[0] == 'o' && tag[1] == ':') || (tag[0] == 's' &&
	    tag[1] == 't' && is_digit((unsigned char)tag[2]) && tag[3] == ':')) {
		const char *r = strchr(tag, ':') + 1;

		ns = *r != '\0';
		for (k = 0; r[k] != '\0'; k++)
			if (!(is_alpha((unsigned char)r[k]) ||
			    is_digit((unsigned char)r[k]) || r[k] == '_' ||
			    r[k] == '-') && !(r[k] == '/' && r[k + 1] == '\0'))
				ns = 0;
	}
	t = tag_slot(s, tag, 0);
	if (known || ns) {
		s->h->elements++;
		if (t == NULL)
			s->h->elements_seen++;
	}
	s->h->tags++;
	if (t == NULL)
		s->h->tags_seen++;
	if (t == NULL)
		t = tag_slot(s, tag, 1);
	if (t != NULL) {
		t->inside += open ? 1 : -1;
		if (t->inside < 0) {
			t->inside = 0;
			s->h->closed_extra++;
		}
	}
	if (ns)
		return;
	if (!known && !in_list(tag, tricks))
		return;
	if (in_list(tag, text_style_tags))
		text_style(s, tag, at, nat, open);
	if (in_list(tag, ws_tags)) {
		if (streq(tag, "br") || streq(tag, "div"))
			display_ws(s, "\n");
		else if (streq(tag, "p") || streq(tag, "hr") ||
		    streq(tag, "blockquote") || streq(tag, "pre") ||
		    streq(tag, "listing") || streq(tag, "plaintext") ||
		    streq(tag, "xmp") || streq(tag, "title"))
			display_ws(s, "\n\n");
		else
			display_ws(s, " ");
	}
	if (open) {
		if (in_list(tag, uri_tags))
			html_uri(s, tag, at, nat);
		html_tests(s, tag, at, nat);
	} else {
		if (streq(tag, "html"))
			s->h->closed_html = 1;
		if (streq(tag, "body"))
			s->h->closed_body = 1;
	}
}

/* ---- the tokenizer (HTML::Parser) ---- */

static const char *
literal_tag(const char *tag, int *decode)
{
	static const char *const lit[] = { "script", "style", "xmp",
	    "plaintext", NULL };
	size_t i;

	*decode = 0;
	for (i = 0; lit[i] != NULL; i++)
		if (streq(tag, lit[i]))
			return lit[i];
	if (streq(tag, "textarea")) {
		*decode = 1;
		return "textarea";
	}
	return NULL;
}

static void
text_event(struct hstate *s, const char *p, size_t len, int decode)
{
	struct buf d = BUF_INIT;

	if (len == 0)
		return;
	if (!decode || memchr(p, '&', len) == NULL) {
		html_text(s, p, len);
		return;
	}
	decode_entities(&d, p, len);
	html_text(s, d.data, d.len);
	buf_free(&d);
}

/*
 * A tag at p[i] == '<' (start or end). Returns the offset after it, or 0
 * when it is not a complete tag (then '<' is text).
 */
static size_t
parse_tag(struct hstate *s, const char *p, size_t len, size_t i,
    char *name_out, int *open_out)
{
	struct attr at[HTML_MAX_ATTRS];
	size_t nat = 0, k = i + 1, n = 0;
	int open = 1;

	if (k < len && p[k] == '/') {
		open = 0;
		k++;
	}
	if (k >= len || !is_alpha((unsigned char)p[k]))
		return 0;
	while (k < len && (is_namechar((unsigned char)p[k]) ||
	    (p[k] == '/' && open && k + 1 < len && p[k + 1] != '>' &&
	    !is_space((unsigned char)p[k + 1]) && 0))) {
		if (n < HTML_MAX_TAGNAME - 1)
			name_out[n++] = (char)lc((unsigned char)p[k]);
		k++;
	}
	name_out[n] = '\0';
	/* attributes */
	for (;;) {
		size_t a0, a1;

		while (k < len && (is_space((unsigned char)p[k]) ||
		    (p[k] == '/' && k + 1 < len && p[k + 1] != '>')))
			k++;
		if (k >= len)
			return 0;
		if (p[k] == '>')
			break;
		if (p[k] == '/' && k + 1 < len && p[k + 1] == '>') {
			k++;
			break;
		}
		a0 = k;
		while (k < len && !is_space((unsigned char)p[k]) && p[k] != '>' &&
		    p[k] != '=' && !(p[k] == '/' && k + 1 < len && p[k + 1] == '>'))
			k++;
		a1 = k;
		if (a1 == a0) {	/* a lone "=" */
			k++;
			continue;
		}
		while (k < len && is_space((unsigned char)p[k]))
			k++;
		if (k < len && p[k] == '=') {
			size_t v0, v1;
			struct buf d = BUF_INIT;

			k++;
			while (k < len && is_space((unsigned char)p[k]))
				k++;
			if (k >= len)
				return 0;
			if (p[k] == '"' || p[k] == '\'') {
				const char *q = memchr(p + k + 1, p[k],
				    len - k - 1);

				if (q == NULL)
					return 0;
				v0 = k + 1;
				v1 = (size_t)(q - p);
				k = v1 + 1;
			} else {
				v0 = k;
				while (k < len && !is_space((unsigned char)p[k]) &&
				    p[k] != '>')
					k++;
				v1 = k;
			}
			if (open && nat < HTML_MAX_ATTRS) {
				size_t m;

				decode_entities(&d, p + v0, v1 - v0);
				for (m = 0; m < a1 - a0 && m < sizeof(at[0].name) - 1;
				    m++)
					at[nat].name[m] = (char)lc((unsigned char)p[a0 + m]);
				at[nat].name[m] = '\0';
				at[nat].val = arena_strndup(s->a, d.data != NULL ?
				    d.data : "", d.len);
				nat++;
			}
			buf_free(&d);
		} else if (open && nat < HTML_MAX_ATTRS) {
			/* A boolean attribute: its value is its name. */
			size_t m;

			for (m = 0; m < a1 - a0 && m < sizeof(at[0].name) - 1; m++)
				at[nat].name[m] = (char)lc((unsigned char)p[a0 + m]);
			at[nat].name[m] = '\0';
			at[nat].val = arena_strdup(s->a, at[nat].name);
			nat++;
		}
	}
	*open_out = open;
	html_tag(s, name_out, at, nat, open);
	return k + 1;
}

/*
 * A comment's text, p[0..n). html.c keeps no comment text; ncomment
 * counts those the stock html_text_match('comment', '<!.*?>') matches:
 * a "<!" with a ">" after it on the same line ("." stops at "\n"), so
 * "<!--\n...\n-->" and HTML::Parser's end-of-input "<a href=..." do not
 * count.
 */
static void
count_comment(struct hstate *s, const char *p, size_t n)
{
	size_t k;

	for (k = 0; k + 1 < n; k++) {
		const char *gt, *nl;

		if (p[k] != '<' || p[k + 1] != '!')
			continue;
		gt = memchr(p + k + 2, '>', n - k - 2);
		nl = memchr(p + k + 2, '\n', n - k - 2);
		if (gt != NULL && (nl == NULL || gt < nl)) {
			s->h->ncomment++;
			return;
		}
	}
}

/*
 * HTML::Parser at eof: markup left unterminated from p[i] on ("<tag ...",
 * "</tag", "<!...", "<?...", an attribute's open quote) is reported as a
 * comment, not as text. Flushes the text before it; returns the new t0.
 */
static size_t
eof_comment(struct hstate *s, const char *p, size_t t0, size_t i,
    size_t len)
{
	text_event(s, p + t0, i - t0, 1);
	count_comment(s, p + i, len - i);
	return len;
}

static void
parse_doc(struct hstate *s, const char *p, size_t len)
{
	size_t i = 0, t0 = 0, k;
	char name[HTML_MAX_TAGNAME];
	int open, decode;

	while (i < len) {
		const char *lt = memchr(p + i, '<', len - i);
		const char *lit;

		if (lt == NULL)
			break;
		i = (size_t)(lt - p);
		if (i + 1 >= len)
			break;
		if (p[i + 1] == '!') {
			const char *e;

			if (i + 3 < len && p[i + 2] == '-' && p[i + 3] == '-') {
				/* comment, to the first "-->"; HTML::Parser
				 * ends one that has none at its first ">",
				 * and one without ">" either at the end */
				size_t ce;

				e = mem_find(p + i + 4, len - i - 4, "-->", 3);
				if (e != NULL)
					ce = (size_t)(e - p) + 3;
				else if ((e = memchr(p + i + 4, '>', len - i -
				    4)) != NULL)
					ce = (size_t)(e - p) + 1;
				else
					ce = len;
				text_event(s, p + t0, i - t0, 1);
				count_comment(s, p + i, ce - i);
				i = t0 = ce;
				continue;
			}
			e = memchr(p + i + 2, '>', len - i - 2);
			if (e == NULL) {
				t0 = eof_comment(s, p, t0, i, len);
				break;
			}
			text_event(s, p + t0, i - t0, 1);
			/* HTML::Parser: "<!doctype" is a declaration, any
			 * other "<!...>" but a marked section a comment */
			if (len - i > 9 && mem_ieq(p + i, 9, "<!doctype", 9) &&
			    !is_namechar((unsigned char)p[i + 9])) {
				struct sm_html_tag *t = tag_slot(s, "!doctype", 1);

				s->h->elements++;
				s->h->tags++;
				if (t != NULL)
					t->inside = 0;
			} else if (!(len - i >= 9 && memcmp(p + i, "<![CDATA[",
			    9) == 0))
				count_comment(s, p + i,
				    (size_t)(e - p) + 1 - i);
			i = t0 = (size_t)(e - p) + 1;
			continue;
		}
		if (p[i + 1] == '?') {
			const char *e = memchr(p + i + 2, '>', len - i - 2);

			if (e == NULL) {
				t0 = eof_comment(s, p, t0, i, len);
				break;
			}
			text_event(s, p + t0, i - t0, 1);
			i = t0 = (size_t)(e - p) + 1;
			continue;
		}
		/* Flush the text first: the tag changes the style. */
		{
			size_t save = i;
			struct hstate *ss = s;

			if (!(is_alpha((unsigned char)p[i + 1]) ||
			    (p[i + 1] == '/' && i + 2 < len &&
			    is_alpha((unsigned char)p[i + 2])))) {
				i++;
				continue;
			}
			/* Is it complete? Parse once without effects is
			 * costly; tags are short, so find its end first. */
			text_event(ss, p + t0, save - t0, 1);
			t0 = save;
			k = parse_tag(s, p, len, i, name, &open);
			if (k == 0) {
				/* unterminated (no ">", or an open quote) */
				t0 = eof_comment(s, p, t0, save, len);
				break;
			}
			i = t0 = k;
		}
		if (open && (lit = literal_tag(name, &decode)) != NULL) {
			size_t ll = strlen(lit), e = i;
			int found = 0;

			if (streq(lit, "plaintext")) {
				text_event(s, p + i, len - i, 0);
				i = t0 = len;
				break;
			}
			while (e + 2 + ll <= len) {
				const char *q = memchr(p + e, '<', len - e);

				if (q == NULL)
					break;
				e = (size_t)(q - p);
				if (e + 2 + ll <= len && p[e + 1] == '/' &&
				    mem_ieq(p + e + 2, ll, lit, ll) &&
				    (e + 2 + ll == len ||
				    !is_namechar((unsigned char)p[e + 2 + ll]))) {
					found = 1;
					break;
				}
				e++;
			}
			if (!found) {
				text_event(s, p + i, len - i, decode);
				i = t0 = len;
				break;
			}
			text_event(s, p + i, e - i, decode);
			i = t0 = e;
		}
	}
	if (t0 < len)
		text_event(s, p + t0, len - t0, 1);
}

void
html_render(struct arena *a, const char *p, size_t len, struct buf *text,
    struct sm_html *h)
{
	struct hstate *s = xcalloc(1, sizeof(*s));
	struct buf pre = BUF_INIT;
	size_t i = 0, k, n;
	unsigned j;

	s->a = a;
	s->out = text;
	s->h = h;
	s->out_base = text->len;
	s->basefont = 3;
	s->title_idx = -1;
	snprintf(s->st[0].tag, sizeof(s->st[0].tag), "default");
	snprintf(s->st[0].fg, sizeof(s->st[0].fg), "#000000");
	snprintf(s->st[0].bg, sizeof(s->st[0].bg), "#ffffff");
	s->st[0].size = 3;
	s->nst = 1;
	h->min_size = h->max_size = 3;
	h->length += len;

	/* HTML.pm's preprocessing: &nbsp; -> space, <tag/> -> <tag>, curly
	 * double quotes -> '"'. */
	while (i < len) {
		if (p[i] == '&' && len - i >= 6 && memcmp(p + i, "&nbsp;", 6) == 0) {
			buf_addc(&pre, ' ');
			i += 6;
		} else if (p[i] == '<' && i + 1 < len &&
		    (is_alpha((unsigned char)p[i + 1]) ||
		    is_digit((unsigned char)p[i + 1]) || p[i + 1] == '_')) {
			k = i + 1;
			while (k < len && (is_alpha((unsigned char)p[k]) ||
			    is_digit((unsigned char)p[k]) || p[k] == '_'))
				k++;
			n = k;
			while (n < len && is_space((unsigned char)p[n]))
				n++;
			if (n + 1 < len && p[n] == '/' && p[n + 1] == '>') {
				buf_add(&pre, p + i, k - i);
				buf_addc(&pre, '>');
				i = n + 2;
			} else {
				buf_add(&pre, p + i, k - i);
				i = k;
			}
		} else if ((unsigned char)p[i] == 0xe2 && len - i >= 3 &&
		    (unsigned char)p[i + 1] == 0x80 &&
		    ((unsigned char)p[i + 2] == 0x9c ||
		    (unsigned char)p[i + 2] == 0x9d)) {
			buf_addc(&pre, '"');
			i += 3;
		} else {
			buf_addc(&pre, p[i]);
			i++;
		}
	}
	if (pre.len > 0)
		parse_doc(s, pre.data, pre.len);
	/* HTML.pm closes an unclosed style or script at the end. */
	for (j = 0; j < HTML_MAX_END_CLOSE && inside(s, "style") > 0; j++)
		html_tag(s, "style", NULL, 0, 0);
	for (j = 0; j < HTML_MAX_END_CLOSE && inside(s, "script") > 0; j++)
		html_tag(s, "script", NULL, 0, 0);

	if (s->title_idx >= 0)
		h->title = arena_strndup(a, s->title.data != NULL ?
		    s->title.data : "", s->title.len);
	if (s->charsets.len > 0)
		h->charsets = arena_strndup(a, s->charsets.data, s->charsets.len);
	if (s->have_anchor && h->nanchor < SM_HTML_MAX_URIS) {
		const char **t = arena_allocarray(a, h->nanchor + 1, sizeof(*t));
		const char **tu = arena_allocarray(a, h->nanchor + 1,
		    sizeof(*tu));

		if (h->nanchor > 0) {
			memcpy(t, h->anchor, h->nanchor * sizeof(*t));
			memcpy(tu, h->anchor_uri, h->nanchor * sizeof(*tu));
		}
		tu[h->nanchor] = s->anchor_last != NULL ? s->anchor_last : "";
		t[h->nanchor++] = arena_strndup(a, s->anchor.data != NULL ?
		    s->anchor.data : "", s->anchor.len);
		h->anchor = t;
		h->anchor_uri = tu;
	}
	for (j = 0; j < 8; j++) {
		uint64_t b = s->backhair[j];

		while (b != 0) {
			h->backhair_count += (unsigned)(b & 1);
			b >>= 1;
		}
	}
	buf_free(&pre);
	buf_free(&s->title);
	buf_free(&s->anchor);
	buf_free(&s->charsets);
	free(s);
}

int
score_html_fuzz_one(const unsigned char *data, size_t size)
{
	struct arena *a = arena_new();
	struct buf text = BUF_INIT;
	struct sm_html h;

	memset(&h, 0, sizeof(h));
	html_render(a, (const char *)data, size, &text, &h);
	buf_free(&text);
	arena_free(&a);
	return 0;
}
