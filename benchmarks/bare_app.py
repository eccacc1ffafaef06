"""The ceiling for the receiver benchmark: a Flask endpoint that reads the body and answers 202,
served by the same gunicorn settings as pingyi's web process."""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask("bare")


@app.post("/hooks/<source>")
def receive(source: str):
    request.get_data()
    return jsonify(status="accepted"), 202
