import cf from 'cloudfront';
// geo-proximity viewer-request router: CloudFront Functions, JavaScript runtime 2.0.
// Generated from the stack's routing table by edge_function/cloudfront_function.py; do not edit.
// Every request goes to the bucket nearest the Regional edge cache it will use on a cache miss
// (cf.edgeLocation.region), in a failover group made for this request with the next bucket.
var ORIGIN_IDS = /* origin ids */[];
// Edge Region -> [primary] or [primary, failover], as indexes into ORIGIN_IDS.
var ROUTES = /* routes */{};
// For a Region code this table does not know, and when the edge Region is missing.
var DEFAULT_ROUTE = /* default route */[];
var FAILOVER_STATUS_CODES = /* failover status codes */[];

function handler(event) {
    // A function that throws is answered with a 503, so any surprise leaves the request on the
    // distribution's default origin instead.
    try {
        var location = cf.edgeLocation;
        var region = location ? location.region : undefined;
        var route = typeof region === 'string' && Object.prototype.hasOwnProperty.call(ROUTES, region)
            ? ROUTES[region]
            : DEFAULT_ROUTE;
        if (route.length === 2) {
            // Members as objects, as the guide's own example passes them ("Helper methods for
            // origin modification"); its prose says ids, and CloudFront checks the result only
            // after the function returns, so the form AWS shows working is the one used.
            cf.createRequestOriginGroup({
                originIds: [{ originId: ORIGIN_IDS[route[0]] }, { originId: ORIGIN_IDS[route[1]] }],
                failoverCriteria: { statusCodes: FAILOVER_STATUS_CODES }
            });
        } else {
            cf.selectRequestOriginById(ORIGIN_IDS[route[0]]);
        }
    } catch (error) {
        console.log('geo-proximity router: left on the default origin: ' + error);
    }
    return event.request;
}
