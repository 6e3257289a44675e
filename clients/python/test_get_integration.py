"""GetIntegration from Python grpcio, against the real server in -demo.

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
            subprocess.run(["go", "build", "-o", binary, "./cmd/server"], cwd=REPO_ROOT, check=True)
        cls.server = subprocess.Popen(
            [binary, "-demo", "-addr", "127.0.0.1:0"],
            stderr=subprocess.PIPE,
            env={"PATH": os.environ["PATH"]},
            text=True,
        )
        for line in cls.server.stderr:
            entry = json.loads(line)
            if entry.get("msg") == "listening":
                cls.addr = entry["addr"]
                break
        else:
            raise RuntimeError("the server exited before listening")
        cls.channel = grpc.insecure_channel(cls.addr)
        cls.call = cls.channel.unary_unary(
            METHOD,
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.terminate()
        cls.server.stderr.read()
        assert cls.server.wait(timeout=10) == 0

    def test_success(self):
        response = self.call(encode_request("my-project", "read-accounts"), metadata=[("x-api-key", "py-key")], timeout=10)
        self.assertIn(b"read-accounts", response)
        self.assertIn(b"priority", response)  # the mapping field variant

    def test_not_found(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.call(encode_request("my-project", "nope"), timeout=10)
        err = caught.exception
        self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("not found", err.details())
        details = dict(err.trailing_metadata()).get("grpc-status-details-bin", b"")
        self.assertIn(b"google.rpc.ErrorInfo", details)
        self.assertIn(b"NOT_FOUND", details)
        self.assertIn(b"api.withampersand.com", details)
        self.assertIn(b"ampersand.v1.Problem", details)

    def test_invalid_argument(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.call(encode_request("..", "read-accounts"), timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        details = dict(caught.exception.trailing_metadata()).get("grpc-status-details-bin", b"")
        self.assertIn(b"project_id_or_name", details)


if __name__ == "__main__":
    unittest.main()
