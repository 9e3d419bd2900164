"""Prints the expected values of SigV4.MatchesBotocore (tests/cpp/sigv4_test.cc): botocore's S3 SigV4 signer at a
fixed time, for keys and queries that exercise the URI encoding. Run once, paste the output into the test:
    .venv/bin/python tests/cpp/sigv4_botocore_vectors.py
"""
import datetime
import types
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.utils

ACCESS, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime.datetime(2013, 5, 24, 0, 0, 0)
HOST = "examplebucket.s3.amazonaws.com"

CASES = [
    # (name, method, key, query, extra headers, body or None for UNSIGNED-PAYLOAD, session token)
    ("space", "GET", "my file.txt", [], {"Range": "bytes=0-9"}, b"", None),
    ("plus", "GET", "a+b=c&d", [], {}, b"", None),
    ("percent", "GET", "100%/%41", [], {}, b"", None),
    ("unicode", "GET", "ünïcödé/日本.bin", [], {}, b"", None),
    ("double_slash", "GET", "a//b/./c/../d", [], {}, b"", None),
    ("reserved", "GET", "~tilde_-.!*'()$,;:@[]", [], {}, b"", None),
    ("list_query", "GET", "", [("list-type", "2"), ("prefix", "dir/a b+ü"), ("delimiter", "/"),
                                ("continuation-token", "1/ab+c=="), ("max-keys", "1000"), ("encoding-type", "url")],
     {}, b"", None),
    ("empty_value", "POST", "big object", [("uploads", "")], {"Content-Type": "application/octet-stream"}, b"", None),
    ("part", "PUT", "big object", [("uploadId", "VXBsb2FkIElE/+="), ("partNumber", "3")], {}, None, None),
    ("session_token", "GET", "k", [], {"Range": "  bytes=0-9,   20-29 "}, b"", "IQoJb3JpZ2luX2VjE//token+=="),
    ("put_body", "PUT", "dir/file", [], {"Content-Length": "21"}, b"Welcome to Amazon S3.", None),
]

for name, method, key, query, headers, body, token in CASES:
    path = "/" + botocore.utils.percent_encode(key, safe="/~")
    creds = botocore.credentials.Credentials(ACCESS, SECRET, token)
    scheme = "http" if body is not None else "https"  # botocore hashes the body over http, UNSIGNED-PAYLOAD over https
    req = botocore.awsrequest.AWSRequest(method=method, url=f"{scheme}://{HOST}{path}", data=body or b"",
                                         params=dict(query), headers={"Host": HOST, **headers})
    if body is None:
        req.context["client_config"] = types.SimpleNamespace(s3={"payload_signing_enabled": False})
    signer = botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=NOW):
        signer.add_auth(req)
    auth = req.headers["Authorization"]
    signed_headers = auth.split("SignedHeaders=")[1].split(",")[0]
    print(f'{{"{name}", "{path}", "{signer.canonical_query_string(req)}", "{req.headers["X-Amz-Content-SHA256"]}",\n'
          f' "{signed_headers}", "{auth.split("Signature=")[1]}"}},')
