import cf from 'cloudfront';
// geo-proximity viewer-request router: CloudFront Functions, JavaScript runtime 2.0.
// Generated from the stack's routing table by edge_function/cloudfront_function.py; do not edit.
// Every request goes to the first origin in rotation of the ranking of the Regional edge cache it
// will use on a cache miss (cf.edgeLocation.region), in a failover group made for this request
// with its failover origin. The origins the stack drains are in this code, so no request goes to
// one whatever the store says or fails to say; which others are out of rotation (evacuated, and
// drains that have not reached this code yet) is data, read from the key value store.
var ORIGIN_IDS = /* origin ids */[];
var ORIGIN_REGIONS = /* origin regions */[];
// Edge Region -> every origin, best first, as indexes into ORIGIN_IDS.
var RANKINGS = /* rankings */{};
// For a Region code this table does not know, and when the edge Region is missing.
var DEFAULT_RANKING = /* default ranking */[];
var FAILOVER = /* failover */'off';
var FIXED_FAILOVER = /* fixed failover */-1;
var FAILOVER_STATUS_CODES = /* failover status codes */[];
// The origins the stack drains, as indexes into ORIGIN_IDS: never a target, whatever the store says.
var DRAINED = /* drained */[];
// The key whose value, {"out": [Region, ...]}, names the origins out of rotation; null: no store.
var STATE_KEY = /* state key */null;

async function outOfRotation() {
    // One read per request. A missing key, a store that cannot be read or a value that is not the
    // expected shape puts nothing out (the drains in this code stay out). Of the value only the
    // Region codes in "out" are read: any other field (a version, say) is not this code's. The
    // handle is taken here, inside the try, so that nothing about the store can make the function
    // throw.
    var out = [];
    if (STATE_KEY === null) {
        return out;
    }
    try {
        var state = await cf.kvs().get(STATE_KEY, { format: 'json' });
        var listed = state !== null && typeof state === 'object' && Array.isArray(state.out) ? state.out : [];
        for (var i = 0; i < listed.length; i++) {
            if (typeof listed[i] === 'string') {
                out.push(listed[i]);
            }
        }
        return out;
    } catch (error) {
        return [];
    }
}

function leftIn(ranking, out) {
    // The ranking less the drained origins and those in out.
    var left = [];
    for (var i = 0; i < ranking.length; i++) {
        if (DRAINED.indexOf(ranking[i]) === -1 && out.indexOf(ORIGIN_REGIONS[ranking[i]]) === -1) {
            left.push(ranking[i]);
        }
    }
    return left;
}

async function handler(event) {
    // A function that throws is answered with a 503, so any surprise leaves the request on the
    // distribution's default origin instead.
    try {
        var out = await outOfRotation();
        var location = cf.edgeLocation;
        var region = location ? location.region : undefined;
        var ranking = typeof region === 'string' && Object.prototype.hasOwnProperty.call(RANKINGS, region)
            ? RANKINGS[region]
            : DEFAULT_RANKING;
        var inRotation = leftIn(ranking, out);
        if (inRotation.length === 0) {
            // The store would leave nothing in rotation: it is ignored (evacuations fail open),
            // the drains never are. Every origin drained, which the settings refuse: none is.
            out = [];
            inRotation = leftIn(ranking, out);
            if (inRotation.length === 0) {
                inRotation = ranking;
            }
        }
        var primary = inRotation[0];
        var failover = -1;
        if (FAILOVER === 'ranked' && inRotation.length > 1) {
            failover = inRotation[1];
        } else if (FAILOVER === 'fixed' && FIXED_FAILOVER !== primary
                   && out.indexOf(ORIGIN_REGIONS[FIXED_FAILOVER]) === -1
                   && DRAINED.indexOf(FIXED_FAILOVER) === -1) {
            failover = FIXED_FAILOVER;
        }
        if (failover === -1) {
            cf.selectRequestOriginById(ORIGIN_IDS[primary]);
        } else {
            // Members as objects, as the guide's own example passes them ("Helper methods for
            // origin modification"); its prose says ids, and CloudFront checks the result only
            // after the function returns, so the form AWS shows working is the one used.
            cf.createRequestOriginGroup({
                originIds: [{ originId: ORIGIN_IDS[primary] }, { originId: ORIGIN_IDS[failover] }],
                failoverCriteria: { statusCodes: FAILOVER_STATUS_CODES }
            });
        }
    } catch (error) {
        console.log('geo-proximity router: left on the default origin: ' + error);
    }
    return event.request;
}
