namespace ActorGateway.Node.Configuration;

/// <summary>A structural mistake in a HOCON text: the line, the key being read there, and what is wrong.</summary>
public sealed record HoconSyntaxError(int Line, string Key, string Problem);

/// <summary>
/// Checks the structure of a HOCON file before Akka's parser reads it: that parser lets an
/// unclosed brace, a key without '=' or a value, or an unclosed string through silently (the
/// rest of the file is then lost) or fails without saying where. This check knows the key
/// path it is in, so the operator is told the file, line and key.
/// </summary>
public sealed class HoconSyntax
{
    readonly string _text;
    int _pos, _line = 1;

    HoconSyntax(string text) { _text = text; }

    /// <summary>Null when the text is well-formed HOCON (as far as its structure goes), else the first mistake.</summary>
    public static HoconSyntaxError? Check(string text)
    {
        try
        {
            new HoconSyntax(text).Root();
            return null;
        }
        catch (Mistake m) { return m.Error; }
    }

    sealed class Mistake(HoconSyntaxError error) : Exception(error.Problem)
    {
        public HoconSyntaxError Error { get; } = error;
    }

    static Mistake Fail(int line, string key, string problem) => new(new HoconSyntaxError(line, key.Length == 0 ? "(top level)" : key, problem));

    bool End => _pos >= _text.Length;
    char Peek(int ahead = 0) => _pos + ahead < _text.Length ? _text[_pos + ahead] : '\0';
    bool AtComment => Peek() == '#' || (Peek() == '/' && Peek(1) == '/');
    bool AtLineEnd => End || Peek() == '\n' || AtComment;

    void Root()
    {
        SkipBlank(commas: false);
        if (Peek() == '{')
        {
            var line = _line;
            _pos++;
            Members("", closed: true, line);
            SkipBlank(commas: false);
            if (!End) throw Fail(_line, "", $"'{Peek()}' after the closing '}}' of the file");
        }
        else Members("", closed: false, _line);
    }

    /// <summary>The members of an object up to its '}' (or the end of the file at the top level).</summary>
    void Members(string path, bool closed, int openLine)
    {
        while (true)
        {
            SkipBlank(commas: true);
            if (End)
            {
                if (closed) throw Fail(openLine, path, $"the '{{' opened on line {openLine} is not closed (a '}}' is missing)");
                return;
            }
            switch (Peek())
            {
                case '}' when closed: _pos++; return;
                case '}': throw Fail(_line, path, "a '}' without a matching '{'");
                case ']': throw Fail(_line, path, "a ']' without a matching '['");
            }
            Member(path);
        }
    }

    void Member(string path)
    {
        var line = _line;
        var name = Key(path);
        var key = path.Length == 0 ? name : $"{path}.{name}";
        SkipSpaces();
        if (name == "include" && (Peek() == '"' || char.IsLetter(Peek())))
        {
            while (!AtLineEnd) _pos++;
            return;
        }
        switch (Peek())
        {
            case '{':
                _pos++;
                Members(key, closed: true, line);
                return;
            case '=' or ':':
                _pos++;
                break;
            case '+' when Peek(1) == '=':
                _pos += 2;
                break;
            default:
                if (AtLineEnd || Peek() is ',' or '}') throw Fail(line, key, "no '=' and no value after the key");
                throw Fail(_line, key, $"'=' expected after the key, found '{Peek()}'");
        }
        Value(key, line);
    }

    /// <summary>A key as written (quoted parts kept), e.g. <c>dkim.keys."example.com"</c>.</summary>
    string Key(string path)
    {
        var start = _pos;
        while (!End)
        {
            if (Peek() == '"') String(path);
            else if (IsUnquoted(Peek()) && !AtComment) _pos++;
            else break;
        }
        if (_pos == start) throw Fail(_line, path, $"a key expected, found '{Peek()}'");
        return _text[start.._pos];
    }

    /// <summary>A value on the rest of the line: strings, unquoted text, substitutions, objects and lists, concatenated.</summary>
    void Value(string key, int keyLine)
    {
        SkipSpaces();
        if (AtLineEnd || Peek() is ',' or '}' or ']') throw Fail(keyLine, key, "no value after '='");
        while (true)
        {
            var c = Peek();
            if (c == '{')
            {
                var line = _line;
                _pos++;
                Members(key, closed: true, line);
            }
            else if (c == '[') List(key);
            else if (c == '"') String(key);
            else if (c == '$' && Peek(1) == '{')
            {
                var line = _line;
                while (!End && Peek() != '}' && Peek() != '\n') _pos++;
                if (Peek() != '}') throw Fail(line, key, "a '${' substitution is not closed");
                _pos++;
            }
            else if (c is '=' or ':')
                throw Fail(_line, key, key.EndsWith(']') ? $"an unexpected '{c}' in a list (is its ']' missing?)" : $"an unexpected '{c}' in the value");
            else
            {
                var start = _pos;
                while (!End && IsValueText(Peek()) && !(Peek() == '/' && Peek(1) == '/' && _pos == start)) _pos++;
                if (_pos == start) throw Fail(_line, key, $"an unexpected '{c}' in the value");
            }
            SkipSpaces();
            if (AtLineEnd || Peek() is ',' or '}' or ']') return;
        }
    }

    void List(string key)
    {
        var open = _line;
        _pos++;
        for (var i = 0; ; i++)
        {
            SkipBlank(commas: true);
            if (End) throw Fail(open, key, $"the '[' opened on line {open} is not closed (a ']' is missing)");
            if (Peek() == ']') { _pos++; return; }
            if (Peek() == '}') throw Fail(_line, key, $"a '}}' inside the list opened on line {open} (a ']' is missing)");
            Value($"{key}[{i}]", _line);
        }
    }

    void String(string key)
    {
        var line = _line;
        if (Peek(1) == '"' && Peek(2) == '"')
        {
            var close = _text.IndexOf("\"\"\"", _pos + 3, StringComparison.Ordinal);
            if (close < 0) throw Fail(line, key, $"the \"\"\" string opened on line {line} is not closed");
            _line += _text.AsSpan(_pos, close + 3 - _pos).Count('\n');
            _pos = close + 3;
            while (Peek() == '"') _pos++; // """a"""" ends with the last three quotes
            return;
        }
        _pos++;
        while (true)
        {
            if (End || Peek() == '\n') throw Fail(line, key, "a string is not closed (a '\"' is missing on its line)");
            var c = _text[_pos++];
            if (c == '\\') _pos++;
            else if (c == '"') return;
        }
    }

    void SkipSpaces()
    {
        while (!End && Peek() is ' ' or '\t' or '\r' or '\uFEFF') _pos++;
    }

    /// <summary>Spaces, newlines, comments, and (between members and list elements) commas.</summary>
    void SkipBlank(bool commas)
    {
        while (!End)
        {
            SkipSpaces();
            if (AtComment) { while (!End && Peek() != '\n') _pos++; }
            else if (Peek() == '\n') { _pos++; _line++; }
            else if (commas && Peek() == ',') _pos++;
            else return;
        }
    }

    // HOCON's unquoted strings exclude these characters.
    static bool IsUnquoted(char c) => !char.IsWhiteSpace(c) && "$\"{}[]:=,+#`^?!@*&\\".IndexOf(c) < 0;

    // Unquoted text in a value is more lenient (addresses like 127.0.0.1:25 and signs are common).
    static bool IsValueText(char c) => !char.IsWhiteSpace(c) && "\"{}[],#=$".IndexOf(c) < 0;
}
