"""Each inline <script> once per page (a Sphinx extension that `_config.yml` loads).

Sphinx 7.4 puts an inline script in twice when an extension adds it after the builder is
initialised (sphinx-thebe's configuration and sphinx-togglebutton's selector do): `app.add_js_file`
hands it to the builder as filename None and to the registry as well, and before writing the
builder adds the registry's scripts again as filename ''. None and '' differ, so the builder's
check for duplicates misses it, and the page declares `const THEBE_JS_URL` twice: the browser
logs "Identifier 'THEBE_JS_URL' has already been declared". Giving the builder '' as well lets
that check see that both are the same script.
"""


def _builder_gets_empty_names(app):
    builder = app.builder
    if not hasattr(builder, "add_js_file"):
        return
    add_js_file = builder.add_js_file

    def add(filename, **kwargs):
        add_js_file(filename or "", **kwargs)

    builder.add_js_file = add


def setup(app):
    # before every other extension's builder-inited handler (the default priority is 500)
    app.connect("builder-inited", _builder_gets_empty_names, priority=1)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
