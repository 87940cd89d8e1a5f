-- basic.lua - sluice-milter under opendkim-tools' miltertest(8):
-- a plain message gets X-Spam-Status inserted and a forged X-Spam-Score
-- removed; GTUBE is rejected. MILTER_SOCKET is the milter's socket
-- ("unix:/path"). Run by tests/integ/t-milter-proto.sh.
local sock = os.getenv("MILTER_SOCKET")
local conn = mt.connect(sock, 40, 0.25)
if conn == nil then error("cannot connect to " .. sock) end

local function must(r, what)
	if r ~= nil then error(what .. ": " .. tostring(r)) end
end
local function cont(what)
	if mt.getreply(conn) ~= SMFIR_CONTINUE then
		error(what .. ": not continue")
	end
end

must(mt.conninfo(conn, "client.example.com", "192.0.2.20"), "conninfo")
cont("connect")
must(mt.helo(conn, "client.example.com"), "helo")
cont("helo")
must(mt.mailfrom(conn, "<alice@example.com>"), "mailfrom")
cont("mailfrom")
must(mt.rcptto(conn, "<bob@example.org>"), "rcptto")
cont("rcptto")
must(mt.header(conn, "From", "alice@example.com"), "header")
must(mt.header(conn, "Subject", "miltertest"), "header")
must(mt.header(conn, "X-Spam-Score", "-99"), "header")
must(mt.eoh(conn), "eoh")
must(mt.bodystring(conn, "Hello there.\r\n"), "body")
must(mt.eom(conn), "eom")
if not mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Status") then
	error("no X-Spam-Status inserted")
end
if not mt.eom_check(conn, MT_HDRCHANGE, "X-Spam-Score", "") then
	error("forged X-Spam-Score not removed")
end
if mt.getreply(conn) ~= SMFIR_ACCEPT and mt.getreply(conn) ~= SMFIR_CONTINUE then
	error("plain message not accepted")
end

-- a second message on the same connection: GTUBE
must(mt.mailfrom(conn, "<alice@example.com>"), "mailfrom 2")
must(mt.rcptto(conn, "<bob@example.org>"), "rcptto 2")
must(mt.header(conn, "Subject", "gtube"), "header 2")
must(mt.eoh(conn), "eoh 2")
must(mt.bodystring(conn,
    "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"),
    "body 2")
must(mt.eom(conn), "eom 2")
local r = mt.getreply(conn)
if r ~= SMFIR_REPLYCODE and r ~= SMFIR_REJECT then
	error("GTUBE not rejected")
end
mt.disconnect(conn)
