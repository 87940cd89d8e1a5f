-- milter-scan.lua - miltertest(8) script that talks to a milter as
-- Postfix's smtpd does, one connection per message: connect info, HELO,
-- MAIL FROM, RCPT TO, DATA, each header, the body (CRLF line ends, in
-- chunks of at most 65535 bytes, the protocol's limit), end of message.
-- Used by bench-rspamd.sh --milter against rspamd's milter; any milter
-- on a socket will do.
--
-- Environment: MILTER_SOCK (e.g. inet:11332@127.0.0.1), MILTER_LIST (a
-- file naming one message file a line). Prints one line a message:
--   FILE<TAB>REPLY<TAB>X-Spam-Status value added ("-" if none)
-- REPLY is accept, continue, reject, tempfail, discard, replycode or the
-- reply byte; then a last line "# headers cut: N". Hostile input is not
-- a concern here: the corpus only.
--
-- miltertest 1.4 (Debian 12) dies ("stack smashing detected") on a
-- header longer than about 1 KB, sent or added by the filter: values are
-- cut to HDR_MAX bytes at the last fold before it (a long To: or
-- Received: list loses its tail), and the count is printed, so that
-- every milter compared with this script sees the same messages.

local CHUNK = 65535		-- MILTER_CHUNK_SIZE
local HDR_MAX = 900		-- under miltertest's buffer, name included
local sock = assert(os.getenv("MILTER_SOCK"), "MILTER_SOCK not set")
local list = assert(os.getenv("MILTER_LIST"), "MILTER_LIST not set")

local names = {
	[SMFIR_ACCEPT] = "accept",
	[SMFIR_CONTINUE] = "continue",
	[SMFIR_REJECT] = "reject",
	[SMFIR_TEMPFAIL] = "tempfail",
	[SMFIR_DISCARD] = "discard",
	[SMFIR_REPLYCODE] = "replycode",
}

local function check(what, err)
	if err ~= nil then
		error(what .. ": " .. tostring(err))
	end
end

-- header block and body of a message; LF or CRLF input
local function split(msg)
	msg = msg:gsub("\r\n", "\n")
	local s, e = msg:find("\n\n", 1, true)
	if s == nil then
		return msg, ""
	end
	return msg:sub(1, s), msg:sub(e + 1)
end

-- name/value pairs; folded lines joined with the line break kept, as
-- sendmail and Postfix pass them; the space after the colon dropped
local function headers(block)
	local out = {}
	for line in block:gmatch("([^\n]*)\n") do
		if line:match("^[ \t]") and #out > 0 then
			out[#out].value = out[#out].value .. "\n" .. line
		else
			local n, v = line:match("^([^:]+):[ \t]?(.*)$")
			if n ~= nil then
				out[#out + 1] = { name = n, value = v }
			end
		end
	end
	return out
end

-- value cut to HDR_MAX - #name bytes, at a fold when there is one
local cut = 0
local function fit(name, value)
	local max = HDR_MAX - #name
	if #value <= max then
		return value
	end
	cut = cut + 1
	local v = value:sub(1, max)
	local fold = v:match("^.*()\n")
	if fold ~= nil and fold > 1 then
		v = v:sub(1, fold - 1)
	end
	return v
end

local n = 0
for path in io.lines(list) do
	local f = assert(io.open(path, "rb"))
	local msg = f:read("*a")
	f:close()
	local hdrs, body = split(msg)

	local conn = mt.connect(sock, 20, 0.5)
	if conn == nil then
		error("cannot connect to " .. sock)
	end
	check("conninfo", mt.conninfo(conn, "localhost", "127.0.0.1"))
	check("helo", mt.helo(conn, "localhost"))
	n = n + 1
	mt.macro(conn, SMFIC_MAIL, "i", string.format("BENCH%06d", n))
	check("mailfrom", mt.mailfrom(conn, "<bench@example.org>"))
	check("rcptto", mt.rcptto(conn, "<user@example.org>"))
	check("data", mt.data(conn))
	for _, h in ipairs(headers(hdrs)) do
		check("header", mt.header(conn, h.name, fit(h.name, h.value)))
	end
	check("eoh", mt.eoh(conn))
	body = body:gsub("\n", "\r\n")
	for i = 1, #body, CHUNK do
		check("body", mt.bodystring(conn, body:sub(i, i + CHUNK - 1)))
	end
	check("eom", mt.eom(conn))
	local r = mt.getreply(conn)
	local st = "-"
	if mt.eom_check(conn, MT_HDRADD, "X-Spam-Status") or
	    mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Status") then
		st = mt.getheader(conn, "X-Spam-Status", 0) or "-"
		st = st:gsub("[\r\n\t]+", " ")
	end
	mt.echo(path .. "\t" .. (names[r] or tostring(r)) .. "\t" .. st)
	mt.disconnect(conn)
end
mt.echo("# headers cut: " .. cut)
