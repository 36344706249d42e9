"""Bounds on one client, over raw sockets against the production site: a request body must
arrive within body_read_timeout_s (408, in the path's dialect), a declared body over
max_body_bytes is refused at once (413), a request head must arrive within
header_timeout_s (the connection is closed), and one address holds at most
max_connections_per_ip connections (one more gets 429 and is closed).

"At once" is shown without timing: those tests set the body deadline to an hour, so a
server that waited for the body would never answer within the test's wait."""

from tests.helpers.edge_sockets import connect, edge_server, eof, json_of, read_response, request, until

ORDER = b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: abc\r\n" \
        b"Content-Type: application/x-www-form-urlencoded\r\n"
LOGIN = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


async def test_a_body_shorter_than_its_content_length_gets_408(fresh_dsn, tmp_path):
    async with edge_server(fresh_dsn, tmp_path, body_read_timeout_s=1) as (app, site):
        status, headers, body = await request(
            site, ORDER + b"Content-Length: 1000\r\n\r\nsymbol=AAPL")
        assert status == 408 and headers["connection"] == "close"
        assert json_of(body) == {"code": -1000, "msg": "The request body did not arrive in "
                                                      "time; nothing was done."}
        status, _, body = await request(site, LOGIN + b'Content-Length: 500\r\n\r\n{"email"')
        assert (status, json_of(body)["code"]) == (408, "REQUEST_TIMEOUT")
        assert set(json_of(body)) == {"code", "message"}


async def test_an_unterminated_chunked_body_gets_408_and_the_connection_closes(fresh_dsn,
                                                                              tmp_path):
    async with edge_server(fresh_dsn, tmp_path, body_read_timeout_s=1) as (app, site):
        reader, writer = await connect(site)
        writer.write(ORDER + b"Transfer-Encoding: chunked\r\n\r\nb\r\nsymbol=AAPL\r\n")
        status, _, body = await read_response(reader)
        assert (status, json_of(body)["code"]) == (408, -1000)
        assert await eof(reader)
        writer.close()
        status, _, body = await request(
            site, LOGIN + b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"ema\r\n")
        assert (status, json_of(body)["code"]) == (408, "REQUEST_TIMEOUT")


async def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(fresh_dsn, tmp_path):
    async with edge_server(fresh_dsn, tmp_path, body_read_timeout_s=3600) as (app, site):
        status, _, body = await request(
            site, ORDER + b"Content-Length: 1000000000000\r\n\r\nsymbol=AAPL")
        assert status == 413
        assert json_of(body) == {"code": -1100, "msg": "Request body too large."}
        status, _, body = await request(
            site, LOGIN + b'Content-Length: 1000000000000\r\n\r\n{"email"')
        assert (status, json_of(body)["code"]) == (413, "BODY_TOO_LARGE")
        # a body that arrives whole still works, under the same hour-long deadline
        status, _, body = await request(site, ORDER + b"Content-Length: 11\r\n\r\nsymbol=AAPL")
        assert (status, json_of(body)["code"]) == (401, -2015)   # read, then the unknown key


async def test_a_request_head_that_never_completes_is_cut(fresh_dsn, tmp_path):
    async with edge_server(fresh_dsn, tmp_path, header_timeout_s=1) as (app, site):
        reader, writer = await connect(site)
        writer.write(b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert await eof(reader)      # closed by the server, not by this client
        writer.close()
        reader, writer = await connect(site)   # an idle connection is cut the same way
        assert await eof(reader)
        writer.close()


async def test_one_address_holds_at_most_max_connections_per_ip(fresh_dsn, tmp_path):
    async with edge_server(fresh_dsn, tmp_path, max_connections_per_ip=3) as (app, site):
        held = [await connect(site) for _ in range(3)]
        await until(lambda: site.bound.open.get("127.0.0.1") == 3)
        status, headers, body = await request(site, b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (status, headers["connection"]) == (429, "close")
        assert json_of(body)["code"] == -1003 and "at most 3" in json_of(body)["msg"]
        assert site.bound.refused == 1
        # the held ones work; when one closes, a new connection is let in
        reader, writer = held[0]
        writer.write(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await read_response(reader))[0] == 200
        assert await eof(reader)
        writer.close()
        await until(lambda: site.bound.open.get("127.0.0.1") == 2)
        status, _, body = await request(site, b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (status, json_of(body)) == (200, {})
        for _, w in held[1:]:
            w.close()
        await until(lambda: not site.bound.open)


async def test_connections_from_a_trusted_proxy_are_not_counted(fresh_dsn, tmp_path):
    async with edge_server(fresh_dsn, tmp_path, max_connections_per_ip=1,
                           trusted_proxies="127.0.0.1") as (app, site):
        held = [await connect(site) for _ in range(3)]
        for reader, writer in held:
            writer.write(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await read_response(reader))[0] == 200
            writer.close()
        assert site.bound.refused == 0
