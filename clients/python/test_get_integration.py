"""GetIntegration from Python grpcio, against the real server in -demo, on
its main port and on its gRPC port.

No generated code and no reflection: a generic unary stub sends the request
encoded by hand, and the status code and the grpc-status-details-bin
trailer are read from the error. Run with Debian's grpcio:

    /usr/bin/python3 -m unittest discover -v clients/python
"""

import json
import os
import subprocess
import tempfile
import unittest

import grpc

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
METHOD = "/ampersand.v1.IntegrationService/GetIntegration"


def encode_request(project: str, integration: str) -> bytes:
    """Encodes a GetIntegrationRequest: two length-delimited string fields."""

    def field(number: int, value: str) -> bytes:
        data = value.encode()
        length = len(data)
        varint = bytearray()
        while True:
            byte = length & 0x7F
            length >>= 7
            varint.append(byte | (0x80 if length else 0))
            if not length:
                break
        return bytes([number << 3 | 2]) + bytes(varint) + data

    return field(1, project) + field(2, integration)


class GetIntegrationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("SERVER_BIN")
        if not binary:
            cls.tmp = tempfile.TemporaryDirectory()
            binary = os.path.join(cls.tmp.name, "server")
            subprocess.run(["go", "build", "-o", binary, "./cmd/ampersand-connect"], cwd=REPO_ROOT, check=True)
        cls.server = subprocess.Popen(
            [binary, "-demo", "-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0"],
            stderr=subprocess.PIPE,
            env={"PATH": os.environ["PATH"]},
            text=True,
        )
        # The main port (every protocol, on net/http) and the gRPC port (on
        # grpc-go's transport), whose line comes right after.
        addrs = {}
        for line in cls.server.stderr:
            entry = json.loads(line)
            if entry.get("msg") == "listening":
                addrs["main port"] = entry["addr"]
            elif entry.get("msg") == "gRPC listening":
                addrs["gRPC port"] = entry["addr"]
                break
        else:
            raise RuntimeError("the server exited before listening")
        cls.channels = [grpc.insecure_channel(addr) for addr in addrs.values()]
        cls.calls = {
            port: channel.unary_unary(
                METHOD,
                request_serializer=lambda b: b,
                response_deserializer=lambda b: b,
            )
            for port, channel in zip(addrs, cls.channels)
        }

    @classmethod
    def tearDownClass(cls):
        for channel in cls.channels:
            channel.close()
        cls.server.terminate()
        cls.server.stderr.read()
        assert cls.server.wait(timeout=10) == 0

    def test_success(self):
        for port, call in self.calls.items():
            with self.subTest(port=port):
                response = call(encode_request("my-project", "read-accounts"), metadata=[("x-api-key", "py-key")], timeout=10)
                self.assertIn(b"read-accounts", response)
                self.assertIn(b"priority", response)  # the mapping field variant

    def test_not_found(self):
        for port, call in self.calls.items():
            with self.subTest(port=port):
                with self.assertRaises(grpc.RpcError) as caught:
                    call(encode_request("my-project", "nope"), timeout=10)
                err = caught.exception
                self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND)
                self.assertIn("not found", err.details())
                details = dict(err.trailing_metadata()).get("grpc-status-details-bin", b"")
                self.assertIn(b"google.rpc.ErrorInfo", details)
                self.assertIn(b"NOT_FOUND", details)
                self.assertIn(b"api.withampersand.com", details)
                self.assertIn(b"ampersand.v1.Problem", details)

    def test_invalid_argument(self):
        for port, call in self.calls.items():
            with self.subTest(port=port):
                with self.assertRaises(grpc.RpcError) as caught:
                    call(encode_request("..", "read-accounts"), timeout=10)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                details = dict(caught.exception.trailing_metadata()).get("grpc-status-details-bin", b"")
                self.assertIn(b"project_id_or_name", details)

    def test_malformed_request(self):
        # A message that is not a GetIntegrationRequest: invalid_argument, with an ErrorInfo.
        for port, call in self.calls.items():
            with self.subTest(port=port):
                with self.assertRaises(grpc.RpcError) as caught:
                    call(b"\xff\xff\xff", timeout=10)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                details = dict(caught.exception.trailing_metadata()).get("grpc-status-details-bin", b"")
                self.assertIn(b"INVALID_REQUEST", details)


if __name__ == "__main__":
    unittest.main()
