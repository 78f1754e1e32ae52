"""A Python client that knows Edge Ticker only through its OpenAPI document.

It validates the document with openapi-spec-validator, finds operations by operationId, builds each
request from the path template, checks the request body against the document's request schema and
every response against the document's response schema for its status (OpenAPI 3.1 / JSON Schema
2020-12, with openapi-schema-validator). Usage: document_client.py ORIGIN TOKEN DOCUMENT_PATH QUEUE
"""
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate


class DocumentClient:
    def __init__(self, origin, token, document_path):
        self.origin = origin
        self.token = token
        status, self.doc = self._send("GET", document_path)
        assert status == 200, f"the document answered {status}"
        validate(self.doc)
        self.operations = {
            op["operationId"]: (method.upper(), path, op) for path, ops in self.doc["paths"].items() for method, op in ops.items()
        }

    def _send(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.origin + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def _check(self, schema, value, what):
        # The document's "#/components/schemas/..." references resolve against the schema's root, so carry the components along.
        rooted = {**schema, "components": self.doc["components"]}
        validator = OAS31Validator(rooted, format_checker=OAS31Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(value), key=str)
        if errors:
            raise AssertionError(f"{what} does not match the document: {errors[0].message} at {list(errors[0].absolute_path)}")

    def call(self, operation_id, path_params=None, query=None, body=None):
        method, template, op = self.operations[operation_id]
        path = re.sub(r"\{(\w+)\}", lambda m: urllib.parse.quote(str((path_params or {})[m.group(1)]), safe=""), template)
        if query:
            known = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            unknown = set(query) - known
            assert not unknown, f"{operation_id} has no query parameters {unknown}"
            path += "?" + urllib.parse.urlencode(query)
        if body is not None:
            self._check(op["requestBody"]["content"]["application/json"]["schema"], body, f"the {operation_id} request body")
        status, payload = self._send(method, path, body)
        response = op["responses"].get(str(status))
        assert response is not None, f"{operation_id} answered {status}, a status the document does not list"
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            self._check(schema, payload, f"the {operation_id} {status} response")
        return status, payload


def main():
    origin, token, document_path, queue = sys.argv[1:5]
    client = DocumentClient(origin, token, document_path)
    status, created = client.call("postJobs", body={"type": "echo", "parameters": {"message": "from python"}, "queue": queue})
    assert status == 201, (status, created)
    status, job = client.call("getJobsById", {"id": created["id"]})
    assert status == 200 and job["id"] == created["id"], (status, job)
    status, page = client.call("getJobs", query={"queue": queue, "limit": 10})
    assert status == 200, (status, page)
    status, missing = client.call("getJobsById", {"id": "job_missing"})
    assert status == 404, (status, missing)
    print(json.dumps({"created": created["id"], "status": job["status"], "listed": [j["id"] for j in page["jobs"]], "missing": missing["error"]}))


if __name__ == "__main__":
    main()
