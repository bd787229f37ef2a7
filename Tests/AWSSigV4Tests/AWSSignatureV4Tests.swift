// Tests of AWSSignatureV4 against AWS's published Signature Version 4 test suite
// (aws-sig-v4-test-suite, 2015 edition: host example.amazonaws.com, region
// us-east-1, service "service", 20150830T123600Z, AKIDEXAMPLE /
// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY), first published at
// https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html.
//
// Where the vector text was copied from (verbatim; the only change is Swift
// string-literal quoting):
//
// [B] bazelbuild/bazel, third_party/aws-sig-v4-test-suite/<dir>/<name>.<ext>
//     (a vendored copy of AWS's suite; <dir> is <name>, normalize-path/<name>
//     or post-sts-token/<name>). Files from here:
//       .req   every vector below except the three marked "= ..." in the table
//       .creq .sts  get-header-value-multiline, get-vanilla-query-order-key,
//              get-vanilla-query-order-value, post-x-www-form-urlencoded,
//              post-x-www-form-urlencoded-parameters
//       .authz every vector except get-vanilla, get-vanilla-query, get-slash,
//              get-relative, get-relative-relative, post-header-key-case and
//              post-vanilla-query, whose Authorization text is identical to
//              get-slash-dot-slash.authz / the Authorization line of
//              get-vanilla-query.sreq and get-slash.sreq (all [B]), or to
//              post-vanilla.authz / post-vanilla-empty-query-value.authz [B].
//       .sreq  get-vanilla-query, get-slash, post-sts-header-after.
// [V] vkill/swift-aws-sigv4-official-test-suite,
//     Tests/AwsSigv4OfficialTestSuiteTests/AwsSigv4OfficialTestSuiteContent.swift
//     (commit a163cbb0ad18d165ead4d04c378a31d65f7d2d6c): the suite's files
//     embedded by a generator. Used for the .creq and .sts text of every other
//     vector, because the search index holds each distinct file text once and
//     those .creq/.sts copies could not be reached under any AWS or suite path.
//     Where [B] also has a file, [V]'s text is identical to it, and every [V]
//     .creq/.sts below is pinned by the [B] .authz signature that depends on it.
//
// Content-identical files: get-vanilla-query.req = get-vanilla.req;
// post-header-key-case.req = post-vanilla.req; post-vanilla-query.req =
// post-vanilla-empty-query-value.req (the index keeps one copy; [V] shows both
// names with the same text).
//
// Not from the suite: the Athena tests' expected signatures were computed with
// botocore 1.43.11 (SigV4Auth.canonical_request / string_to_sign / signature,
// timestamp fixed) as an independent cross-check.

import AWSSigV4
import Foundation
import Testing

// MARK: - Suite data

/// One test of the suite: the raw request and the three published results.
struct SuiteVector: Sendable, CustomTestStringConvertible {
    let name: String
    let req: String
    let creq: String
    let sts: String
    let authz: String
    var sessionToken: String? = nil

    var testDescription: String { name }
}

enum Suite {
    static let signer = AWSSignatureV4(region: "us-east-1", service: "service")
    static let amzDate = "20150830T123600Z"
    static let credentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    )
    /// From post-sts-header-before.req [B].
    static let sessionToken =
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    /// The canonical request / string to sign / Authorization shared by every
    /// vector that reduces to `GET /` with only Host and X-Amz-Date.
    static let getRootCreq = """
GET
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""
    static let getRootSts = """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
"""
    static let getRootAuthz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

    /// The same for `POST /` with only Host and X-Amz-Date.
    static let postRootReq = """
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""
    static let postRootCreq = """
POST
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""
    static let postRootSts = """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87
"""
    static let postRootAuthz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"

    static let vectors: [SuiteVector] = [
        // MARK: GET, path and query
        SuiteVector(
            name: "get-vanilla",
            req: """
GET / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: getRootCreq, sts: getRootSts, authz: getRootAuthz
        ),
        SuiteVector(
            name: "get-vanilla-query",  // .req = get-vanilla.req
            req: """
GET / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: getRootCreq, sts: getRootSts, authz: getRootAuthz
        ),
        SuiteVector(
            name: "get-vanilla-query-order-key-case",
            req: """
GET /?Param2=value2&Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/
Param1=value1&Param2=value2
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ),
        SuiteVector(
            name: "get-vanilla-query-order-key",
            req: """
GET /?Param1=value2&Param1=Value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/
Param1=Value1&Param1=value2
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"
        ),
        SuiteVector(
            name: "get-vanilla-query-order-value",
            req: """
GET /?Param1=value2&Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/
Param1=value1&Param1=value2
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"
        ),
        SuiteVector(
            name: "get-vanilla-query-unreserved",
            req: """
GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/
-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"
        ),
        SuiteVector(
            name: "get-vanilla-utf8-query",
            req: """
GET /?ሴ=bar HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/
%E1%88%B4=bar
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"
        ),
        SuiteVector(
            name: "get-utf8",
            req: """
GET /ሴ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/%E1%88%B4

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"
        ),
        SuiteVector(
            name: "get-unreserved",
            req: """
GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"
        ),

        // MARK: Headers
        SuiteVector(
            name: "get-header-key-duplicate",
            req: """
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value2
My-Header1:value2
My-Header1:value1
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/

host:example.amazonaws.com
my-header1:value2,value2,value1
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"
        ),
        SuiteVector(
            name: "get-header-value-order",
            req: """
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value4
My-Header1:value1
My-Header1:value3
My-Header1:value2
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/

host:example.amazonaws.com
my-header1:value4,value1,value3,value2
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"
        ),
        SuiteVector(
            name: "get-header-value-trim",
            req: """
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1: value1
My-Header2: "a   b   c"
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/

host:example.amazonaws.com
my-header1:value1
my-header2:"a b c"
x-amz-date:20150830T123600Z

host;my-header1;my-header2;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"
        ),
        SuiteVector(
            // The folded lines are signed as further values of My-Header1 (joined
            // with commas), not as one space-joined value: see parseSuiteRequest.
            name: "get-header-value-multiline",
            req: """
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value1
  value2
     value3
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/

host:example.amazonaws.com
my-header1:value1,value2,value3
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
b7b6cbfd8a0430b78891e986784da2630c8a135a8595cec25b26ea94f926ee55
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790"
        ),

        // MARK: POST
        SuiteVector(
            name: "post-vanilla",
            req: postRootReq, creq: postRootCreq, sts: postRootSts, authz: postRootAuthz
        ),
        SuiteVector(
            name: "post-header-key-case",  // .req = post-vanilla.req
            req: postRootReq, creq: postRootCreq, sts: postRootSts, authz: postRootAuthz
        ),
        SuiteVector(
            name: "post-vanilla-query",  // .req = post-vanilla-empty-query-value.req
            req: """
POST /?Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
POST
/
Param1=value1
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        ),
        SuiteVector(
            name: "post-header-key-sort",
            req: """
POST / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value1
X-Amz-Date:20150830T123600Z
""",
            creq: """
POST
/

host:example.amazonaws.com
my-header1:value1
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"
        ),
        SuiteVector(
            name: "post-header-value-case",
            req: """
POST / HTTP/1.1
Host:example.amazonaws.com
My-Header1:VALUE1
X-Amz-Date:20150830T123600Z
""",
            creq: """
POST
/

host:example.amazonaws.com
my-header1:VALUE1
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"
        ),
        SuiteVector(
            name: "post-x-www-form-urlencoded",
            req: """
POST / HTTP/1.1
Content-Type:application/x-www-form-urlencoded
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z

Param1=value1
""",
            creq: """
POST
/

content-type:application/x-www-form-urlencoded
host:example.amazonaws.com
x-amz-date:20150830T123600Z

content-type;host;x-amz-date
9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        ),
        SuiteVector(
            name: "post-x-www-form-urlencoded-parameters",
            req: """
POST / HTTP/1.1
Content-Type:application/x-www-form-urlencoded; charset=utf8
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z

Param1=value1
""",
            creq: """
POST
/

content-type:application/x-www-form-urlencoded; charset=utf8
host:example.amazonaws.com
x-amz-date:20150830T123600Z

content-type;host;x-amz-date
9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"
        ),
        SuiteVector(
            name: "post-sts-header-before",
            req: """
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==
""",
            creq: """
POST
/

host:example.amazonaws.com
x-amz-date:20150830T123600Z
x-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==

host;x-amz-date;x-amz-security-token
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
            sessionToken: sessionToken
        ),

        // MARK: normalize-path
        SuiteVector(
            name: "get-slash",
            req: """
GET // HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: getRootCreq, sts: getRootSts, authz: getRootAuthz
        ),
        SuiteVector(
            name: "get-slashes",
            req: """
GET //example// HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/example/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"
        ),
        SuiteVector(
            name: "get-relative",
            req: """
GET /example/.. HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: getRootCreq, sts: getRootSts, authz: getRootAuthz
        ),
        SuiteVector(
            name: "get-relative-relative",
            req: """
GET /example1/example2/../.. HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: getRootCreq, sts: getRootSts, authz: getRootAuthz
        ),
        SuiteVector(
            name: "get-slash-dot-slash",
            req: """
GET /./ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: getRootCreq, sts: getRootSts, authz: getRootAuthz
        ),
        SuiteVector(
            name: "get-slash-pointless-dot",
            req: """
GET /./example HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/example

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"
        ),
        SuiteVector(
            name: "get-space",
            req: """
GET /example space/ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
""",
            creq: """
GET
/example%20space/

host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
""",
            sts: """
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86
""",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"
        ),
    ]
}

/// Reads a suite `.req` file: a request line, header lines `Name:value`, and an
/// optional body after a blank line.
///
/// A line that starts with white space continues the header above it. The suite
/// signs each such line as one more value of that header (get-header-value-multiline
/// expects `value1,value2,value3`), so it becomes a repeated header here.
func parseSuiteRequest(_ text: String) -> AWSSignatureV4.Request? {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
    guard let requestLine = lines.popFirst(),
          let firstSpace = requestLine.firstIndex(of: " "),
          let lastSpace = requestLine.lastIndex(of: " "),
          firstSpace < lastSpace
    else { return nil }
    let target = requestLine[requestLine.index(after: firstSpace)..<lastSpace]

    var headers: [(String, String)] = []
    while let line = lines.popFirst(), !line.isEmpty {
        if line.first == " " || line.first == "\t" {
            guard let name = headers.last?.0 else { return nil }
            headers.append((name, String(line)))
        } else {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
    }

    let path: Substring
    var query: [(String, String)] = []
    if let mark = target.firstIndex(of: "?") {
        path = target[..<mark]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first?.removingPercentEncoding,
                  let value = (parts.count > 1 ? parts[1] : "").removingPercentEncoding
            else { return nil }
            query.append((name, value))
        }
    } else {
        path = target
    }
    return AWSSignatureV4.Request(
        method: String(requestLine[..<firstSpace]),
        path: String(path),
        query: query,
        headers: headers,
        body: Array(lines.joined(separator: "\n").utf8)
    )
}

/// The value of the first header named `name` (any case).
func header(_ name: String, in headers: [(String, String)]) -> String? {
    headers.first { $0.0.lowercased() == name.lowercased() }?.1
}

// MARK: - Suite tests

@Suite("AWS SigV4 test suite")
struct SuiteTests {
    @Test(arguments: Suite.vectors)
    func vector(_ v: SuiteVector) throws {
        let request = try #require(parseSuiteRequest(v.req))
        let signer = Suite.signer

        let creq = signer.canonicalRequest(request)
        #expect(creq == v.creq)

        let sts = signer.stringToSign(canonicalRequest: creq, amzDate: Suite.amzDate)
        #expect(sts == v.sts)

        var credentials = Suite.credentials
        credentials.sessionToken = v.sessionToken
        let added = signer.sign(request, credentials: credentials, amzDate: Suite.amzDate)
        #expect(header("Authorization", in: added) == v.authz)
        #expect(header("X-Amz-Date", in: added) == Suite.amzDate)
        #expect(header("X-Amz-Security-Token", in: added) == v.sessionToken)
    }

    @Test func vectorCount() {
        #expect(Suite.vectors.count == 28)
        #expect(Set(Suite.vectors.map(\.name)).count == Suite.vectors.count)
    }

    /// post-sts-header-after: the token header is added after signing, so it is
    /// on the request but not signed. .sreq [B]; .creq/.sts/.authz equal
    /// post-vanilla's [V].
    @Test func postStsHeaderAfter() throws {
        let sreq = """
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==
Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b
"""
        let signedRequest = try #require(parseSuiteRequest(sreq))
        let published = try #require(header("Authorization", in: signedRequest.headers))
        #expect(published.trimmingCharacters(in: .whitespaces) == Suite.postRootAuthz)

        var request = signedRequest
        request.headers.removeAll { $0.0 == "Authorization" }
        let signer = Suite.signer
        let creq = signer.canonicalRequest(request, signedHeaders: ["Host", "X-Amz-Date"])
        #expect(creq == Suite.postRootCreq)
        let sts = signer.stringToSign(canonicalRequest: creq, amzDate: Suite.amzDate)
        #expect(sts == Suite.postRootSts)
        let signature = signer.signature(
            stringToSign: sts, secretAccessKey: Suite.credentials.secretAccessKey, date: "20150830")
        #expect(Suite.postRootAuthz.hasSuffix("Signature=\(signature)"))

        // Signing every header instead covers the token and changes the signature.
        #expect(signer.canonicalRequest(request) != Suite.postRootCreq)
    }
}

// MARK: - Athena-shaped requests

@Suite("Athena JSON request")
struct AthenaTests {
    static let signer = AWSSignatureV4(region: "us-east-1", service: "athena")
    static let body = #"{"QueryString":"SELECT 1","WorkGroup":"primary","ClientRequestToken":"c0ffee00-0000-4000-8000-000000000001"}"#

    static func request(body: String) -> AWSSignatureV4.Request {
        AWSSignatureV4.Request(
            method: "POST",
            path: "/",
            headers: [
                ("Host", "athena.us-east-1.amazonaws.com"),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "AmazonAthena.StartQueryExecution"),
            ],
            body: Array(body.utf8)
        )
    }

    static func signatureHex(_ authorization: String) -> String? {
        authorization.range(of: "Signature=").map { String(authorization[$0.upperBound...]) }
    }

    @Test func startQueryExecution() throws {
        let added = Self.signer.sign(
            Self.request(body: Self.body), credentials: Suite.credentials, amzDate: Suite.amzDate)
        #expect(added.map(\.0) == ["X-Amz-Date", "Authorization"])
        #expect(header("X-Amz-Date", in: added) == Suite.amzDate)

        let authorization = try #require(header("Authorization", in: added))
        #expect(authorization.hasPrefix(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/athena/aws4_request, "))
        #expect(authorization.contains(" SignedHeaders=content-type;host;x-amz-date;x-amz-target, "))
        // botocore 1.43.11 signs the same request with this signature.
        #expect(Self.signatureHex(authorization)
            == "5844472c7039a37f8b0967660621c79cfe7602511d64f1ed583a58f6cdfd8a39")

        // The payload hash is part of the signature: another body, another signature.
        let otherBody = Self.body.replacingOccurrences(of: "SELECT 1", with: "SELECT 2")
        #expect(otherBody != Self.body)
        let other = Self.signer.sign(
            Self.request(body: otherBody), credentials: Suite.credentials, amzDate: Suite.amzDate)
        let otherAuthorization = try #require(header("Authorization", in: other))
        let signature = try #require(Self.signatureHex(authorization))
        let otherSignature = try #require(Self.signatureHex(otherAuthorization))
        #expect(signature.count == 64 && otherSignature.count == 64)
        #expect(otherSignature != signature)
    }

    @Test func startQueryExecutionWithSessionToken() throws {
        var credentials = Suite.credentials
        credentials.sessionToken = "EXAMPLETOKEN"
        let added = Self.signer.sign(
            Self.request(body: Self.body), credentials: credentials, amzDate: Suite.amzDate)
        #expect(added.map(\.0) == ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        #expect(header("X-Amz-Security-Token", in: added) == "EXAMPLETOKEN")
        let authorization = try #require(header("Authorization", in: added))
        #expect(authorization.contains(
            " SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "))
        // botocore 1.43.11 signs the same request and token with this signature.
        #expect(Self.signatureHex(authorization)
            == "3b5c3bf9065c7b2969c1d05f74f5457ff52ceb27903de1372a7d7008c06ff429")
    }

    @Test func canonicalRequestMatchesBotocore() {
        var request = Self.request(body: Self.body)
        request.headers.append(("X-Amz-Date", Suite.amzDate))
        #expect(Self.signer.canonicalRequest(request) == """
POST
/

content-type:application/x-amz-json-1.1
host:athena.us-east-1.amazonaws.com
x-amz-date:20150830T123600Z
x-amz-target:AmazonAthena.StartQueryExecution

content-type;host;x-amz-date;x-amz-target
174251cc12391a2c879f6ff84f6166f424b6e25048d7b508ef9e57b17b389a5c
""")
    }
}

// MARK: - X-Amz-Date

@Suite("amzDate")
struct AmzDateTests {
    @Test(arguments: [
        (1_440_938_160.0, "20150830T123600Z"),  // the suite's time, 2015-08-30T12:36:00Z
        (0.0, "19700101T000000Z"),
        (951_782_399.0, "20000228T235959Z"),
        (951_782_400.0, "20000229T000000Z"),
        (4_102_444_799.0, "20991231T235959Z"),
        (-1.0, "19691231T235959Z"),
        (1_440_938_160.999, "20150830T123600Z"),  // fractions are dropped, not rounded
    ])
    func formats(_ seconds: Double, _ expected: String) {
        #expect(AWSSignatureV4.amzDate(Date(timeIntervalSince1970: seconds)) == expected)
    }
}
