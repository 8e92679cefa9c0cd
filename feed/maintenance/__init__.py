"""Feed maintenance: finding and removing what crashes leave behind (`octopack fsck`)."""
